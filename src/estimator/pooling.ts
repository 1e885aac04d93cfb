/**
 * Pooling specs, with lmprobe's meaning: training pools activations (or trains on every token
 * with "all"); inference pools either activations before the classifier ("activation" stage) or
 * the classifier's per-token scores after it ("score" stage, e.g. the max over tokens).
 */
import { InvalidOptionError } from "../errors.js";
import { isOneOf } from "../internal/unknown-values.js";

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
 */
export type InferencePooling = TrainPooling | "max" | "min" | `score:${Reduction}` | `activation:${Reduction}`;
/** Python: `pooling`: sets both stages unless `trainPooling`/`inferencePooling` override it. */
export type Pooling = InferencePooling;

/** Inference pooling, resolved. */
export type InferenceStage =
  { stage: "activation"; reduction: Reduction } | { stage: "score"; reduction: Reduction } | { stage: "all" };

export const POOLING_PATTERN =
  /^(all|last_token|first_token|mean|max|min|(score|activation):(last_token|first_token|mean|max|min))$/;

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
