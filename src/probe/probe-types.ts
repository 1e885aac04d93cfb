/** Option and result types of Probe's methods. */
import type { ProbeOptions } from "../config/probe-options.js";
import type { MonitoringOptions } from "../estimator/monitoring-options.js";
import type { CallOptions } from "../types.js";
import type { ExtractionProfile } from "../extraction/activation-source.js";
import type { RemoteOverride } from "../extraction/session.js";

export type { RemoteOverride };

/** Per-call options of `fit`. */
export interface FitOptions extends CallOptions, RemoteOverride {
  /** Python: `invalidate_cache`. Re-extract every prompt and overwrite its cached activations. */
  invalidateCache?: boolean;
  /** Python: `sample_weight`. One non-negative weight per training prompt. */
  sampleWeight?: number[];
  /** Python: `batch_size`. Overrides the probe's batch size for this call. */
  batchSize?: number;
}

/** Per-call options of the inference methods. */
export interface PredictOptions extends CallOptions, RemoteOverride {
  /** Python: `batch_size`. Overrides the probe's batch size for this call. */
  batchSize?: number;
  /** Python: `invalidate_cache`. Re-extract and overwrite cached activations. */
  invalidateCache?: boolean;
}

/**
 * Per-call options of `evaluate`: those of the inference methods, and the monitoring metrics to add
 * (`fpr` → `recallAtFpr` and `roc`; `roc`; `bootstrap` → confidence intervals).
 */
export interface EvaluateOptions extends PredictOptions, MonitoringOptions {}

/** Per-call options of `calibrate`. */
export interface CalibrateOptions extends PredictOptions {
  /** The highest false-positive rate allowed on the control prompts, in (0, 1). */
  fpr: number;
}

/** Where the time of the last `fit`, `warmup` or inference call went. Python: `last_profile_`. */
export interface CallProfile {
  /** Wall time of the whole call. */
  totalSeconds: number;
  extraction: ExtractionProfile;
  /** Fitting the scaler and classifier in the worker (fit only). */
  fitSeconds?: number;
}

/** Per-call options of `warmup`. */
export interface WarmupOptions extends PredictOptions {
  /** Also cache every token's activations, from which any pooling is later derived without the model. */
  fullSequence?: boolean;
}

/** What `warmup` did. */
export interface WarmupResult {
  /** Distinct prompts asked for. */
  prompts: number;
  /** Of those, how many were already fully cached. */
  cached: number;
}

/**
 * The inference pooling the options lead to: `inferencePooling`, or `pooling` where it is absent.
 * Distributes over the members of `I`, so an optional or union-typed field yields every possibility.
 */
type EffectivePooling<I, P> = I extends undefined ? P : I;

/** `O[K]`, or `undefined` when `O` (an inferred options literal) has no such key. */
type Field<O, K extends string> = K extends keyof O ? O[K] : undefined;

/**
 * Whether inference is token-level (`inferencePooling: "all"`, or `pooling: "all"` without an
 * override): "yes", "no", or "maybe" when the option types do not decide it (e.g. options typed
 * `ProbeOptions`, whose fields are unions).
 */
type TokenLevel<O extends ProbeOptions> =
  EffectivePooling<Field<O, "inferencePooling">, Field<O, "pooling">> extends infer E
    ? [E] extends ["all"]
      ? "yes"
      : "all" extends E
        ? "maybe"
        : "no"
    : never;

/**
 * `predictProba`'s result: n × classes, or n × tokens × classes with inference pooling "all" (either when unknown).
 */
export type ProbaOf<O extends ProbeOptions> = {
  yes: number[][][];
  no: number[][];
  maybe: number[][] | number[][][];
}[TokenLevel<O>];
/**
 * `predict`'s result: one label (or value) per prompt, or per token with inference pooling "all" (either when unknown).
 */
export type LabelsOf<O extends ProbeOptions> = {
  yes: number[][];
  no: number[];
  maybe: number[] | number[][];
}[TokenLevel<O>];

/**
 * Maps each key of `O` that {@link ProbeOptions} lacks to a message type no value has. `new Probe(options)`
 * takes `O & ExactOptions<O>`, so a misspelt option in an object literal is a compile error that names
 * the key (the generic parameter alone accepts any extra key: excess-property checks skip inference).
 */
export type ExactOptions<O> = {
  // An object type, not a literal: `number & "..."` would reduce the whole argument to `never` and
  // blame every option; `number & { ... }` blames only the misspelt one.
  [K in Exclude<keyof O, keyof ProbeOptions>]: { [M in `${K & string} is not a Probe option`]: never };
};

/** What `Probe.load` may re-point: another worker or cache, a moved model folder, local instead of remote runs. */
export type LoadOverrides = Pick<
  ProbeOptions,
  "runtime" | "cacheDir" | "device" | "model" | "backend" | "remote" | "maxRetries"
>;
