/** Option and result types of Probe's methods. */
import type { ProbeOptions } from "../config/probe-options.js";
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

/** True when the options make inference token-level (`inferencePooling: "all"`, or `pooling: "all"` without an override). */
type TokenLevel<O> = O extends { inferencePooling: infer I }
  ? I extends "all"
    ? true
    : false
  : O extends { pooling: "all" }
    ? true
    : false;

/** `predictProba`'s result: n × classes, or n × tokens × classes with inference pooling "all". */
export type ProbaOf<O extends ProbeOptions> = TokenLevel<O> extends true ? number[][][] : number[][];
/** `predict`'s result: one label (or value) per prompt, or per token with inference pooling "all". */
export type LabelsOf<O extends ProbeOptions> = TokenLevel<O> extends true ? number[][] : number[];

/** What `Probe.load` may re-point: another worker or cache, a moved model folder, local instead of remote runs. */
export type LoadOverrides = Pick<
  ProbeOptions,
  "runtime" | "cacheDir" | "device" | "model" | "backend" | "remote" | "maxRetries"
>;
