/**
 * Pooling specs, with lmprobe's meaning: training pools activations (or trains on every token
 * with "all"); inference pools either activations before the classifier ("activation" stage) or
 * the classifier's per-token scores after it ("score" stage, e.g. the max over tokens).
 */
import { InvalidOptionError } from "../errors.js";
import { isOneOf } from "../internal/unknown-values.js";
import { isStreamReduction, parseStreamReduction, type StreamReduction } from "./stream-reductions.js";

export type { StreamReduction } from "./stream-reductions.js";

/** Poolings that reduce a prompt's token activations to one vector. */
export const VECTOR_POOLINGS = ["last_token", "first_token", "mean"] as const;
/** Reductions over tokens, usable on activations or on per-token scores. */
export const REDUCTIONS = ["last_token", "first_token", "mean", "max", "min"] as const;

/** A reduction of a prompt's tokens. */
export type Reduction = (typeof REDUCTIONS)[number];
/** Vector poolings the worker and the cache handle directly. */
export type VectorPooling = (typeof VECTOR_POOLINGS)[number];
/** Python: `train_pooling` values. "all" trains on every real token of each prompt. */
export type TrainPooling = VectorPooling | "all";
/**
 * Python: `inference_pooling` values. Bare "max"/"min" pool the classifier's per-token scores
 * (score stage); "score:X" / "activation:X" choose the stage explicitly; "all" keeps every token.
 * `ema:ALPHA` and `rolling:N` (also with "score:") are streaming score-level reductions
 * (stream-reductions.ts; not in lmprobe).
 */
export type InferencePooling =
  | TrainPooling
  | "max"
  | "min"
  | `score:${Reduction}`
  | `activation:${Reduction}`
  | StreamReduction
  | `score:${StreamReduction}`;
/** Python: `pooling`: sets both stages unless `trainPooling`/`inferencePooling` override it. */
export type Pooling = InferencePooling;

/** Inference pooling, resolved. */
export type InferenceStage =
  | { stage: "activation"; reduction: Reduction }
  | { stage: "score"; reduction: Reduction | StreamReduction }
  | { stage: "all" };

/** The pooling strings; `ema:`/`rolling:` values are range-checked by {@link checkPoolingValue}. */
export const POOLING_PATTERN =
  /^(all|last_token|first_token|mean|max|min|(score|activation):(last_token|first_token|mean|max|min)|(score:)?(ema|rolling):[^:]*)$/;

/** An error message for a pooling whose streaming value is out of range (`option` named), else undefined. */
export function checkPoolingValue(value: string, option: string): string | undefined {
  const rest = value.startsWith("score:") ? value.slice("score:".length) : value;
  if (!isStreamReduction(rest)) return undefined;
  try {
    parseStreamReduction(rest, option);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^Invalid Probe options: /, "");
  }
}

/** True when `value` is a pooling spec (`pooling` / `inferencePooling`). */
export function isPooling(value: unknown): value is Pooling {
  return typeof value === "string" && POOLING_PATTERN.test(value);
}

/** Training pooling: `trainPooling`, else `pooling`; must be a vector pooling or "all", without a stage prefix. */
export function resolveTrainPooling(pooling: Pooling, trainPooling: TrainPooling | undefined): TrainPooling {
  const value = trainPooling ?? pooling;
  if (value === "all" || isVectorPooling(value)) return value;
  const option = trainPooling === undefined ? "pooling" : "trainPooling";
  throw new InvalidOptionError(
    option,
    `Invalid Probe options: ${option} "${value}" cannot be used for training ` +
      "(use last_token, first_token, mean or all). " +
      `Score-level and prefixed poolings apply to inference only: set inferencePooling: "${value}" and a trainPooling.`,
  );
}

/** Inference pooling: `inferencePooling`, else `pooling`; bare max/min mean the score stage. */
export function resolveInferencePooling(
  pooling: Pooling,
  inferencePooling: InferencePooling | undefined,
): InferenceStage {
  const value = inferencePooling ?? pooling;
  if (value === "all") return { stage: "all" };
  const stream = value.startsWith("score:") ? value.slice("score:".length) : value;
  if (isStreamReduction(stream)) {
    parseStreamReduction(stream, inferencePooling === undefined ? "pooling" : "inferencePooling");
    return { stage: "score", reduction: stream };
  }
  const [prefix, rest] = value.includes(":") ? value.split(":") : [undefined, value];
  // The option schema admits only POOLING_PATTERN, so `rest` is a reduction and `prefix` a stage.
  if (!isOneOf(REDUCTIONS, rest))
    throw new InvalidOptionError("inferencePooling", `Invalid Probe options: unknown pooling "${value}".`);
  if (prefix === "score" || prefix === "activation") return { stage: prefix, reduction: rest };
  return { stage: rest === "max" || rest === "min" ? "score" : "activation", reduction: rest };
}

/** True when the reduction is one the worker and the pooled cache produce directly. */
export function isVectorPooling(r: string): r is VectorPooling {
  return isOneOf(VECTOR_POOLINGS, r);
}
