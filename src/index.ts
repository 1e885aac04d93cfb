/** lmprobe-ts: linear probes on language-model activations, from TypeScript. */
// The public types use Node's (Buffer, NodeJS.ProcessEnv, AsyncDisposable): reference them from
// dist/index.d.ts so a consumer compiles without `skipLibCheck` even where `types` is empty
// (TypeScript 7's default). `preserve` keeps the directive in the emitted declarations.
/// <reference types="node" preserve="true" />
export {
  Probe,
  type FitOptions,
  type PredictOptions,
  type WarmupOptions,
  type WarmupResult,
  type CallProfile,
  type ProbaOf,
  type LabelsOf,
} from "./probe/probe.js";
export { LayerSweepResult, type SweepArgs } from "./probe/sweep.js";
export type { ExtractionProfile } from "./extraction/activation-source.js";
export type { ActivationsInput, ActivationMatrix } from "./estimator/activation-matrix.js";
export type { ImportanceMetric } from "./estimator/scoring.js";
export type {
  FittedState,
  ScalerState,
  PreprocessingState,
  LinearModelState,
  EnsembleModelState,
  OpaqueModelState,
  ModelState,
  Link,
} from "./estimator/fitted-state.js";
export {
  CLASSIFIERS,
  type ProbeOptions,
  type LayerSpec,
  type ClassifierName,
  type CustomEstimator,
  type RemoteOptions,
} from "./config/probe-options.js";
export type { Pooling, TrainPooling, InferencePooling, Reduction } from "./estimator/pooling.js";
export { PROBE_FORMAT_VERSION } from "./persist/probe-file.js";
export { PythonRuntime, type PythonRuntimeOptions, type WorkerInfo } from "./worker/python-runtime.js";
export { REMOTE_ENV, type RemoteConnectOptions } from "./worker/remote-options.js";
export { ensurePythonEnv, type PythonEnv, type EnsureEnvOptions } from "./env/python-env.js";
export { lmprobeHome, defaultCacheDir } from "./env/paths.js";
export {
  ActivationCache,
  CACHE_FORMAT_VERSION,
  type ModelCacheInfo,
  type EntryKind,
} from "./cache/activation-cache.js";
export type { CacheDtype } from "./cache/half-float.js";
export type {
  ProgressEvent,
  RemoteJobStatus,
  CallOptions,
  EvaluationResult,
  ClassificationEvaluation,
  RegressionEvaluation,
} from "./types.js";
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
  PythonOomError,
  BadRequestError,
  BadActivationsError,
  UnsupportedModelError,
  AbortError,
  TimeoutError,
  CacheError,
  NotSupportedError,
  ProbeFileError,
  RemoteError,
  RemoteJobError,
  RemoteTimeoutError,
  type RemoteErrorInfo,
  type PythonErrorInfo,
  type LmprobeErrorCode,
  WorkerConnectError,
  type WorkerConnectReason,
} from "./errors.js";
