/**
 * Options of `new Probe(...)`, validated with zod before anything else happens: an unknown or
 * mistyped option fails here with InvalidOptionError naming it, and no Python process starts.
 */
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import { BUILTIN_CLASSIFIERS, type ClassifierName } from "../protocol/classifiers.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import type { InferencePooling, Pooling, TrainPooling } from "../estimator/pooling.js";
import { isRecord } from "../internal/unknown-values.js";
import type { LayerSpec } from "./layer-spec.js";
import type { TokensOption } from "../chat/chat-input.js";
import { probeOptionsSchema, type ResolvedProbeOptions } from "./options-schema.js";
import { checkCombinations } from "./option-checks.js";

export type { Pooling, InferencePooling, TrainPooling } from "../estimator/pooling.js";
export { isLayerSpec, type LayerSpec } from "./layer-spec.js";
export { probeOptionsSchema, type ResolvedProbeOptions } from "./options-schema.js";
export { preprocessingSteps, type PreprocessingStep } from "./option-checks.js";

/** Python: `classifier` names, built with lmprobe's exact scikit-learn constructors. */
export const CLASSIFIERS = BUILTIN_CLASSIFIERS;
export type { ClassifierName };
/** A scikit-learn estimator by its import path, e.g. `{ estimator: "sklearn.svm.LinearSVC", params: { C: 0.5 } }`. */
export interface CustomEstimator {
  /** Fully qualified class under `sklearn.` (other modules are refused: importing them would run arbitrary code). */
  estimator: string;
  /** Constructor keyword arguments (snake_case, like Python). */
  params?: Record<string, unknown>;
}

/**
 * Options of {@link Probe}. Names mirror lmprobe's `Probe(...)` keywords in camelCase; string
 * values keep lmprobe's spelling.
 */
export interface ProbeOptions {
  /**
   * Python: `model`. A local folder (saved with `save_pretrained`), a hub id, or
   * `"embedded:smollm2-135m"`. Optional only for probes used purely through the `*FromActivations` methods.
   */
  model?: string;
  /** Hub revision (branch, tag or commit) for hub ids. @default "main" */
  revision?: string;
  /** Python: `layers`. Decoder block(s) whose output is probed; layer i is the output of block i. @default "middle" */
  layers?: LayerSpec;
  /** Python: `pooling`. How a prompt's tokens become one prediction (both stages). @default "last_token" */
  pooling?: Pooling;
  /** Python: `train_pooling`. Overrides `pooling` for fit; "all" trains on every real token. */
  trainPooling?: TrainPooling;
  /** Python: `inference_pooling`. Overrides `pooling` for prediction; "max"/"min" pool per-token scores. */
  inferencePooling?: InferencePooling;
  /**
   * Python: `classifier`. A built-in name or a scikit-learn estimator.
   * @default "logistic_regression" ("ridge_regression" for regression)
   */
  classifier?: ClassifierName | CustomEstimator;
  /** Python: `classifier_kwargs`. Constructor overrides (snake_case keys), saved with the probe and never mutated. */
  classifierKwargs?: Record<string, unknown>;
  /** Python: `task`. Regression predicts values, scores R². @default "classification" */
  task?: "classification" | "regression";
  /** Python: `device`. `"auto"` picks CUDA, then MPS, then CPU. @default "auto" */
  device?: string;
  /**
   * Python: `backend`. `"local"`: transformers with forward hooks; `"nnsight"`: nnsight traces (same numbers).
   * @default "local"
   */
  backend?: "local" | "nnsight";
  /**
   * Python: `remote`. Run the extraction on NDIF (needs `backend: "nnsight"` and `NDIF_API_KEY`);
   * an object sets the host and the job deadline, polling and backoff. @default false
   */
  remote?: boolean | RemoteOptions;
  /**
   * Retries per remote batch (transport failures, 5xx, transient job errors), with exponential backoff and jitter.
   * @default 3
   */
  maxRetries?: number;
  /** Python: `random_state`. Seed of the classifier. @default undefined */
  randomState?: number | null;
  /** Python: `batch_size`. Prompts per forward pass. @default 8 */
  batchSize?: number;
  /** Python: `dtype`. Model weights' dtype; activations always reach you in float32. @default "float32" */
  dtype?: "float32" | "float16" | "bfloat16";
  /** Python: `normalize_layers`. Scaling of multi-layer features (one layer is always standardized). @default true */
  normalizeLayers?: boolean | "per_neuron" | "per_layer";
  /**
   * Python: `auto_candidates`. Candidate layers of "auto"/"fast_auto": indices, or fractions of depth in [0, 1].
   * @default [0.25, 0.5, 0.75]
   */
  autoCandidates?: number[];
  /** Python: `auto_alpha`. Group Lasso strength of "auto". @default 0.01 */
  autoAlpha?: number;
  /** Python: `fast_auto_top_k`. Layers kept by "fast_auto". @default half the candidates (at least 1) */
  fastAutoTopK?: number;
  /** Python: `preprocessing`. "standard", "pca", "pca:N", "standard+pca", or an array of steps. */
  preprocessing?: string | string[] | null;
  /** Python: `pca_components`. Components of a bare "pca" step. */
  pcaComponents?: number;
  /**
   * Python: `mass_mean_augment`. Appends the projection on the class-mean difference (one more feature).
   * @default false
   */
  massMeanAugment?: boolean;
  /** A shared worker. Without it the probe starts its own and closes it in `close()`. */
  runtime?: PythonRuntime;
  /**
   * Batch prompts of similar token length together (less padding, same tokens; results keep the
   * input order). `false` batches in input order exactly like lmprobe, for bit-for-bit parity.
   * @default true
   */
  groupByLength?: boolean;
  /** Activation cache folder; `null` turns caching off. @default LMPROBE_CACHE_DIR, else LMPROBE_HOME/activations */
  cacheDir?: string | null;
  /** Storage dtype of cached activations. float16/bfloat16 halve the disk use but are lossy. @default "float32" */
  cacheDtype?: "float32" | "float16" | "bfloat16";
  /**
   * Which tokens of a chat conversation are pooled, in training and in (score-level) inference:
   * "all" (default; template scaffolding included), "assistant" (the assistant messages' content), or
   * a list of roles (their messages' content). Plain string prompts are always pooled whole.
   */
  tokens?: TokensOption;
}

/** Settings of remote (NDIF) execution, for `remote: { ... }`. */
export interface RemoteOptions {
  /** NDIF host. @default NDIF_HOST, else "https://api.ndif.us" */
  host?: string;
  /** Deadline per job, from submission to result. @default 3600000 @unit milliseconds */
  timeoutMs?: number;
  /** Pause between status polls. @default 2000 @unit milliseconds */
  pollIntervalMs?: number;
  /** First retry delay; doubled per retry, with ±50% jitter. @default 1000 @unit milliseconds */
  retryBackoffMs?: number;
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Validates probe options; throws InvalidOptionError naming the first bad option. */
export function parseProbeOptions(input: unknown): ResolvedProbeOptions {
  const parsed = probeOptionsSchema.safeParse(input);
  if (parsed.success) return checkCombinations(parsed.data, isRecord(input) && input.classifier === undefined);
  const issue = parsed.error.issues[0];
  let option = String(issue?.path[0] ?? "options");
  let hint = "";
  if (issue?.code === "unrecognized_keys") {
    option = issue.keys[0] ?? option;
    const known = Object.keys(probeOptionsSchema.shape);
    const suggestion = camel(option);
    hint = known.includes(suggestion)
      ? ` Options are camelCase: use "${suggestion}" instead of "${option}".`
      : ` Known options: ${known.join(", ")}.`;
  }
  throw new InvalidOptionError(option, `Invalid Probe options:\n${z.prettifyError(parsed.error)}${hint}`, {
    cause: parsed.error,
  });
}
