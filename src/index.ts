/** lmprobe-ts: linear probes on language-model activations, from TypeScript. */
export { Probe, type FitOptions, type PredictOptions, type WarmupOptions, type WarmupResult, type CallProfile } from "./probe/probe.js";
export type { ExtractionProfile } from "./probe/activation-source.js";
export type { FittedState, ScalerState, LinearModelState } from "./probe/fitted-state.js";
export type { ProbeOptions, LayerSpec, Pooling, RemoteOptions } from "./config/probe-options.js";
export { PythonRuntime, type PythonRuntimeOptions, type WorkerInfo } from "./worker/python-runtime.js";
export { ensurePythonEnv, type PythonEnv, type EnsureEnvOptions } from "./env/python-env.js";
export { lmprobeHome, defaultCacheDir } from "./env/paths.js";
export { ActivationCache, CACHE_FORMAT_VERSION, type ModelCacheInfo, type EntryKind } from "./cache/activation-cache.js";
export type { CacheDtype } from "./cache/half-float.js";
export type { ProgressEvent, RemoteJobStatus, CallOptions, EvaluationResult } from "./types.js";
export {
  LmprobeError,
  InvalidOptionError,
  InvalidInputError,
  NotFittedError,
  ModelNotFoundError,
  PythonEnvError,
  WorkerError,
  WorkerStartError,
  WorkerExitedError,
  ProtocolError,
  PythonError,
  AbortError,
  TimeoutError,
  CacheError,
  RemoteError,
  RemoteJobError,
  RemoteTimeoutError,
  type RemoteErrorInfo,
  type LmprobeErrorCode,
} from "./errors.js";
