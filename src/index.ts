/** lmprobe-ts: linear probes on language-model activations, from TypeScript. */
export { Probe, type FitOptions, type PredictOptions } from "./probe/probe.js";
export type { FittedState, ScalerState, LinearModelState } from "./probe/fitted-state.js";
export type { ProbeOptions, LayerSpec, Pooling } from "./config/probe-options.js";
export { PythonRuntime, type PythonRuntimeOptions, type WorkerInfo } from "./worker/python-runtime.js";
export { ensurePythonEnv, type PythonEnv, type EnsureEnvOptions } from "./env/python-env.js";
export { lmprobeHome } from "./env/paths.js";
export type { ProgressEvent, CallOptions, EvaluationResult } from "./types.js";
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
  type LmprobeErrorCode,
} from "./errors.js";
