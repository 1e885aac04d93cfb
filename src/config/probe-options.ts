/**
 * Options of `new Probe(...)`, validated with zod before anything else happens: an unknown or
 * mistyped option fails here with InvalidOptionError naming it, and no Python process starts.
 */
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import { EMBEDDED_MODELS, EMBEDDED_PREFIX, isEmbeddedModel } from "../models/embedded-models.js";
import { BUILTIN_CLASSIFIERS, type ClassifierName } from "../protocol/classifiers.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import {
  POOLING_PATTERN,
  resolveInferencePooling,
  resolveTrainPooling,
  type InferencePooling,
  type Pooling,
  type TrainPooling,
} from "../estimator/pooling.js";
import { checkEstimatorParams, checkEstimatorPath } from "./estimator-policy.js";
import { isRecord } from "../internal/unknown-values.js";

export type { Pooling, InferencePooling, TrainPooling } from "../estimator/pooling.js";

const layerNames = ["middle", "last", "all", "auto", "fast_auto", "sweep"] as const;

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
 * Which decoder blocks to probe: an index (negative counts from the end), several, a named set,
 * automatic selection ("auto": Group Lasso; "fast_auto": coefficient norms), or a sweep
 * ("sweep", "sweep:N" every N-th layer, "sweep:A-B" inclusive).
 */
export type LayerSpec =
  number | number[] | (typeof layerNames)[number] | `sweep:${number}` | `sweep:${number}-${number}`;

const int = z.number().int();

/** True for a {@link PythonRuntime} (checked by shape, so option parsing needs no worker code). */
function isRuntime(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const methods = ["call", "request", "prewarm", "envValue", "close"];
  return methods.every((m) => typeof Reflect.get(value, m) === "function");
}
const SWEEP_STEP = /^sweep:(\d+)$/;
const SWEEP_RANGE = /^sweep:(\d+)-(\d+)$/;
const PREPROCESSING_STEP = /^(standard|standard_scaler|pca(:[1-9]\d*)?)$/;

/** POOLING_PATTERN admits exactly the Pooling strings: pipe() hands their type on to the parsed options. */
const poolingType = z.custom<Pooling>();

const LAYERS_MESSAGE =
  'layers must be an index, a list, "middle", "last", "all", "auto", "fast_auto", "sweep", ' +
  '"sweep:N" (N ≥ 1) or "sweep:START-END" (START ≤ END)';
const layerSpec = z
  .union([
    int,
    z.array(int).min(1, "layers needs at least one index"),
    z.enum(layerNames),
    z.string().refine((s) => {
      const step = SWEEP_STEP.exec(s);
      if (step) return Number(step[1]) >= 1;
      const range = SWEEP_RANGE.exec(s);
      return range !== null && Number(range[1]) <= Number(range[2]);
    }, LAYERS_MESSAGE),
    // The checks above admit exactly the LayerSpec forms: pipe() hands their type on.
  ])
  .pipe(z.custom<LayerSpec>());

/** True when `value` is a valid `layers` spec (the CLI checks its flags with it before Python starts). */
export function isLayerSpec(value: unknown): value is LayerSpec {
  return layerSpec.safeParse(value).success;
}

const preprocessingSpec = z
  .union([z.string(), z.array(z.string()).min(1)])
  .nullable()
  .refine(
    (spec) => spec === null || (Array.isArray(spec) ? spec : spec.split("+")).every((s) => PREPROCESSING_STEP.test(s)),
    {
      message:
        'preprocessing steps are "standard" and "pca" / "pca:N", ' +
        'in a "+"-joined string (e.g. "standard+pca:16") or an array',
    },
  );

export const probeOptionsSchema = z
  .strictObject({
    model: z
      .string()
      .min(1, 'model must name a local folder, a hub id, or an embedded model (e.g. "embedded:smollm2-135m")')
      .refine((m) => !m.startsWith(EMBEDDED_PREFIX) || isEmbeddedModel(m.slice(EMBEDDED_PREFIX.length)), {
        message: `unknown embedded model; known: ${EMBEDDED_MODELS.map((m) => EMBEDDED_PREFIX + m).join(", ")}`,
      })
      .optional(),
    revision: z.string().min(1).optional(),
    layers: layerSpec.default("middle"),
    pooling: z
      .string()
      .regex(
        POOLING_PATTERN,
        "pooling must be last_token, first_token, mean, all, max, min, or score:/activation: with one of those",
      )
      .pipe(poolingType)
      .default("last_token"),
    trainPooling: z.enum(["last_token", "first_token", "mean", "all"]).optional(),
    inferencePooling: z
      .string()
      .regex(
        POOLING_PATTERN,
        "inferencePooling must be last_token, first_token, mean, all, max, min, " +
          "or score:/activation: with one of those",
      )
      .pipe(poolingType)
      .optional(),
    classifier: z
      .union([
        z.enum(CLASSIFIERS),
        z.strictObject({
          estimator: z
            .string()
            .regex(
              /^sklearn(\.[A-Za-z_]\w*)+\.[A-Za-z_]\w*$/,
              'estimator must be a scikit-learn class path like "sklearn.svm.LinearSVC" ' +
                "(other modules are refused: importing them would run arbitrary code)",
            ),
          params: z.record(z.string(), z.unknown()).optional(),
        }),
      ])
      .default("logistic_regression"),
    classifierKwargs: z.record(z.string(), z.unknown()).optional(),
    task: z.enum(["classification", "regression"]).default("classification"),
    device: z
      .string()
      .regex(/^(auto|cpu|mps|cuda(:\d+)?)$/, 'device must be "auto", "cpu", "mps", "cuda" or "cuda:N"')
      .default("auto"),
    backend: z.enum(["local", "nnsight"]).default("local"),
    remote: z
      .union([
        z.boolean(),
        z.looseObject({
          host: z
            .string()
            .regex(/^https?:\/\//, "remote.host must start with http:// or https://")
            .optional(),
          timeoutMs: int.positive().optional(),
          pollIntervalMs: int.positive().optional(),
          retryBackoffMs: int.nonnegative().optional(),
        }),
      ])
      .default(false),
    maxRetries: int.nonnegative().optional(),
    randomState: int.nullable().optional(),
    batchSize: int.positive().default(8),
    dtype: z.enum(["float32", "float16", "bfloat16"]).default("float32"),
    normalizeLayers: z.union([z.boolean(), z.enum(["per_neuron", "per_layer"])]).default(true),
    autoCandidates: z.array(z.number()).min(1).optional(),
    autoAlpha: z.number().positive().default(0.01),
    fastAutoTopK: int.positive().optional(),
    preprocessing: preprocessingSpec.optional(),
    pcaComponents: int.positive().optional(),
    massMeanAugment: z.boolean().default(false),
    // Structural: config/ does not load the worker layer (a runtime is anything with its methods).
    runtime: z.custom<PythonRuntime>(isRuntime, "runtime must be a PythonRuntime").optional(),
    cacheDir: z.string().min(1).nullable().optional(),
    groupByLength: z.boolean().default(true),
    cacheDtype: z.enum(["float32", "float16", "bfloat16"]).default("float32"),
  })
  .superRefine((o, ctx) => {
    const remoteKeys = ["host", "timeoutMs", "pollIntervalMs", "retryBackoffMs"];
    const unknown = typeof o.remote === "object" ? Object.keys(o.remote).filter((k) => !remoteKeys.includes(k)) : [];
    if (unknown.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["remote"],
        message: `unknown remote setting(s) ${unknown.join(", ")}; known: ${remoteKeys.join(", ")}`,
      });
    }
    if (o.remote !== false && o.backend !== "nnsight") {
      ctx.addIssue({
        code: "custom",
        path: ["remote"],
        message: 'remote execution (NDIF) needs backend: "nnsight"; the "local" backend runs on this machine only',
      });
    }
    if (o.remote !== false && o.model?.startsWith(EMBEDDED_PREFIX)) {
      ctx.addIssue({
        code: "custom",
        path: ["remote"],
        message:
          'embedded models run locally only: NDIF serves hub models (pass a hub id like "meta-llama/Llama-3.1-8B")',
      });
    }
  });

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

/** Options with defaults applied. */
export type ResolvedProbeOptions = Omit<
  z.output<typeof probeOptionsSchema>,
  "pooling" | "inferencePooling" | "layers"
> & {
  pooling: Pooling;
  inferencePooling?: InferencePooling;
  layers: LayerSpec;
};

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

/** Preprocessing steps, normalised: "standard" and "pca" with its component count. */
export type PreprocessingStep = { kind: "standard" } | { kind: "pca"; components: number };

/** Parses `preprocessing` (+ `pcaComponents`); throws when a "pca" step has no component count. */
export function preprocessingSteps(
  spec: string | string[] | null | undefined,
  pcaComponents: number | undefined,
): PreprocessingStep[] {
  if (spec === null || spec === undefined) return [];
  return (Array.isArray(spec) ? spec : spec.split("+")).map((step) => {
    if (step === "standard" || step === "standard_scaler") return { kind: "standard" };
    const n = step.startsWith("pca:") ? Number(step.slice(4)) : pcaComponents;
    if (n === undefined) {
      throw new InvalidOptionError(
        "pcaComponents",
        'Invalid Probe options: preprocessing "pca" needs a component count: set pcaComponents, or write "pca:N".',
      );
    }
    return { kind: "pca", components: n };
  });
}

/** Checks between options that a schema of single fields cannot express. */
function checkCombinations(o: ResolvedProbeOptions, defaultClassifier: boolean): ResolvedProbeOptions {
  resolveTrainPooling(o.pooling, o.trainPooling);
  resolveInferencePooling(o.pooling, o.inferencePooling);
  preprocessingSteps(o.preprocessing, o.pcaComponents);
  if (typeof o.classifier === "object") {
    checkEstimatorPath(o.classifier.estimator);
    checkEstimatorParams("classifier.params", o.classifier.params);
  }
  checkEstimatorParams("classifierKwargs", o.classifierKwargs);
  if (o.task === "regression") {
    // lmprobe builds Ridge for regression when the classifier is left at its default.
    if (defaultClassifier) o.classifier = "ridge_regression";
    if (typeof o.classifier === "string" && o.classifier !== "ridge_regression") {
      throw new InvalidOptionError(
        "classifier",
        `Invalid Probe options: classifier "${o.classifier}" is a classifier; task "regression" needs ` +
          '"ridge_regression" or a scikit-learn regressor ({ estimator: "sklearn.linear_model.Ridge" }).',
      );
    }
    if (o.massMeanAugment)
      throw new InvalidOptionError(
        "massMeanAugment",
        'Invalid Probe options: massMeanAugment needs two classes; it cannot be used with task "regression".',
      );
  } else if (o.classifier === "ridge_regression") {
    throw new InvalidOptionError(
      "classifier",
      'Invalid Probe options: "ridge_regression" is a regressor: set task: "regression", ' +
        'or use "ridge" (RidgeClassifier) for classification.',
    );
  }
  const auto = o.layers === "auto" || o.layers === "fast_auto";
  if (o.autoCandidates !== undefined && !auto) {
    throw new InvalidOptionError(
      "autoCandidates",
      'Invalid Probe options: autoCandidates only applies to layers "auto" or "fast_auto".',
    );
  }
  if (o.layers === "auto" && o.autoCandidates !== undefined && o.autoCandidates.length < 2) {
    throw new InvalidOptionError(
      "autoCandidates",
      'Invalid Probe options: layers "auto" selects among candidate layers and needs at least two autoCandidates.',
    );
  }
  return o;
}
