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
  type EvaluateOptions,
  type CalibrateOptions,
  type TokenScore,
  type TokenScores,
} from "./probe/probe.js";
export { rocCurve } from "./estimator/roc-curve.js";
export { recallAtFpr } from "./estimator/recall-at-fpr.js";
export type { MonitoringOptions } from "./estimator/monitoring-options.js";
export type { Calibration } from "./estimator/decision-threshold.js";
export type { ChatMessage, Conversation, Prompt, TokensOption } from "./chat/chat-input.js";
export { LayerSweepResult, type SweepArgs } from "./probe/sweep.js";
export type { NativeExportResult } from "./probe/export-native.js";
export { readNativeManifest, verifyNativeFolder, type NativeManifest } from "./native/manifest.js";
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
export type { Pooling, TrainPooling, InferencePooling, Reduction, StreamReduction } from "./estimator/pooling.js";
export { PROBE_FORMAT_VERSION } from "./persist/probe-file.js";
export { PythonRuntime, type PythonRuntimeOptions, type WorkerInfo } from "./worker/python-runtime.js";
export { REMOTE_ENV, type RemoteConnectOptions } from "./worker/remote-options.js";
export { RAY_ENV, type RayOptions } from "./worker/ray-options.js";
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
  RocCurve,
  RecallAtFpr,
  Interval,
  BootstrapIntervals,
  MonitoringMetrics,
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
  RayClusterError,
  RemoteJobError,
  RemoteTimeoutError,
  MissingDependencyError,
  type RemoteErrorInfo,
  type PythonErrorInfo,
  type LmprobeErrorCode,
  WorkerConnectError,
  type WorkerConnectReason,
} from "./errors.js";
export { BaselineProbe } from "./baselines/baseline-probe.js";
export {
  BaselineBattery,
  type BaselineBatteryOptions,
  type BaselineTrainSet,
  type BaselineTestSet,
} from "./baselines/baseline-battery.js";
export {
  BASELINE_METHODS,
  TEXT_BASELINES,
  ACTIVATION_BASELINES,
  type BaselineMethod,
  type BaseFeatureMethod,
  type BaselineProbeOptions,
  type BaselineExtractionOptions,
} from "./baselines/baseline-options.js";
export {
  bestBaselines,
  type BaselineTable,
  type BaselineRow,
  type SkippedBaseline,
} from "./baselines/baseline-table.js";
export { ProbeEnsemble, type EnsembleFitOptions } from "./ensemble/probe-ensemble.js";
export type { EnsembleOptions, BootstrapOptions, Voting } from "./ensemble/ensemble-options.js";
export type { Groups } from "./ensemble/bootstrap-sample.js";
