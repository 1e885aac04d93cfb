/**
 * Options of {@link BaselineProbe}: lmprobe 0.10.3's `BaselineProbe` and `ActivationBaseline`
 * keywords in camelCase, with lmprobe's defaults, validated with zod. Extraction options of the
 * activation baselines are the Probe's own and are validated by the Probe's schema.
 */
import { z } from "zod";
import type { CustomEstimator, ClassifierName, ProbeOptions } from "../config/probe-options.js";
import { probeOptionsSchema } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";

/** Text baselines (lmprobe's `BaselineProbe` methods; "perplexity" and "sentence_transformers" are not offered). */
export const TEXT_BASELINES = ["bow", "tfidf", "random", "majority", "sentence_length", "shuffled_labels"] as const;
/** Activation baselines (lmprobe's `ActivationBaseline` methods). */
export const ACTIVATION_BASELINES = ["random_direction", "pca", "layer_0"] as const;
/** Every baseline method. */
export const BASELINE_METHODS = [...TEXT_BASELINES, ...ACTIVATION_BASELINES] as const;
/** A baseline method name. */
export type BaselineMethod = (typeof BASELINE_METHODS)[number];
/** Feature methods "shuffled_labels" can train on (Python: `base_method`). */
export type BaseFeatureMethod = Exclude<(typeof TEXT_BASELINES)[number], "shuffled_labels">;

/** Probe options an activation baseline extracts with (the same extraction path and cache as a Probe). */
export type BaselineExtractionOptions = Pick<
  ProbeOptions,
  | "model"
  | "revision"
  | "device"
  | "backend"
  | "remote"
  | "maxRetries"
  | "batchSize"
  | "dtype"
  | "runtime"
  | "groupByLength"
  | "cacheDir"
  | "cacheDtype"
>;

/** Options of {@link BaselineProbe}. */
export interface BaselineProbeOptions extends BaselineExtractionOptions {
  /** Python: `method`. @default "tfidf" */
  method?: BaselineMethod;
  /**
   * Python: `classifier` (ignored by "random" and "majority", which use a DummyClassifier).
   * @default "logistic_regression"
   */
  classifier?: ClassifierName | CustomEstimator;
  /**
   * Python: `random_state`: seed of the classifier, the label shuffle, the random direction and PCA.
   * @default undefined
   */
  randomState?: number | null;
  /** Python: `max_features`. Vocabulary size of "bow"/"tfidf"; `null` keeps every term. @default 10000 */
  maxFeatures?: number | null;
  /** Python: `ngram_range`. N-gram range of "bow"/"tfidf". @default [1, 1] */
  ngramRange?: [number, number];
  /** Python: `base_method`. Features "shuffled_labels" trains on. @default "tfidf" */
  baseMethod?: BaseFeatureMethod;
  /** Python: `layers` (activation baselines; "layer_0" always reads layer 0). Fixed layers only. @default -1 */
  layers?: number | number[] | "middle" | "last" | "all";
  /** Python: `pooling` (activation baselines). @default "last_token" */
  pooling?: "last_token" | "first_token" | "mean";
  /** Python: `n_components`. Components of "pca" (capped at the sample and feature counts). @default 10 */
  nComponents?: number;
}

const nonNegativeInt = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();

/** The baseline's own keys; the extraction keys pass through to the Probe schema. */
export const baselineSchema = z.strictObject({
  method: z.enum(BASELINE_METHODS).default("tfidf"),
  classifier: probeOptionsSchema.shape.classifier.unwrap().default("logistic_regression"),
  randomState: nonNegativeInt.nullable().optional(),
  maxFeatures: positiveInt.nullable().default(10000),
  ngramRange: z
    .tuple([positiveInt, positiveInt])
    .refine(([low, high]) => low <= high, { message: "ngramRange must be [low, high] with low <= high" })
    .default([1, 1]),
  baseMethod: z.enum(["bow", "tfidf", "random", "majority", "sentence_length"]).default("tfidf"),
  layers: z.union([z.number().int(), z.array(z.number().int()).min(1), z.enum(["middle", "last", "all"])]).default(-1),
  pooling: z.enum(["last_token", "first_token", "mean"]).default("last_token"),
  nComponents: positiveInt.default(10),
  model: z.unknown().optional(),
  revision: z.unknown().optional(),
  device: z.unknown().optional(),
  backend: z.unknown().optional(),
  remote: z.unknown().optional(),
  maxRetries: z.unknown().optional(),
  batchSize: z.unknown().optional(),
  dtype: z.unknown().optional(),
  runtime: z.unknown().optional(),
  groupByLength: z.unknown().optional(),
  cacheDir: z.unknown().optional(),
  cacheDtype: z.unknown().optional(),
});

/** Parsed baseline options (the extraction keys still unchecked: the Probe schema checks them). */
export type ResolvedBaselineOptions = z.infer<typeof baselineSchema>;

/** Turns the first zod issue into an InvalidOptionError naming the option (`what` names the options object). */
export function optionError(what: string, error: z.ZodError, known: string[]): InvalidOptionError {
  const issue = error.issues[0];
  let option = String(issue?.path[0] ?? "options");
  let hint = "";
  if (issue?.code === "unrecognized_keys") {
    option = issue.keys[0] ?? option;
    hint = ` Known options: ${known.join(", ")}.`;
  }
  return new InvalidOptionError(option, `Invalid ${what} options:\n${z.prettifyError(error)}${hint}`, {
    cause: error,
  });
}

/** Validates {@link BaselineProbeOptions}; throws InvalidOptionError naming the first bad option. */
export function parseBaselineOptions(input: unknown): ResolvedBaselineOptions {
  const parsed = baselineSchema.safeParse(input ?? {});
  if (!parsed.success) throw optionError("BaselineProbe", parsed.error, Object.keys(baselineSchema.shape));
  return parsed.data;
}

/** True for the methods that read activations. */
export function isActivationBaseline(method: BaselineMethod): method is (typeof ACTIVATION_BASELINES)[number] {
  return (ACTIVATION_BASELINES as readonly string[]).includes(method);
}
