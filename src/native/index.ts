/**
 * lmprobe-ts/native: run a probe exported with `probe.exportNative(dir)` in Node alone, without
 * Python. Needs the optional peer dependencies `onnxruntime-node` and `@huggingface/tokenizers`
 * (`npm install onnxruntime-node @huggingface/tokenizers`); without them `NativeProbe.load`
 * rejects with `MissingDependencyError`, and nothing else of lmprobe-ts needs them.
 */
/// <reference types="node" preserve="true" />
export {
  NativeProbe,
  type NativeLoadOptions,
  type NativePredictOptions,
  type NativeTokenScores,
} from "./native-probe.js";
export { NATIVE_FORMAT, NATIVE_FORMAT_VERSION, type NativeManifest } from "./manifest.js";
export {
  LmprobeError,
  MissingDependencyError,
  ProbeFileError,
  InvalidInputError,
  NotSupportedError,
  AbortError,
  type LmprobeErrorCode,
} from "../errors.js";
export type { EvaluationResult, ClassificationEvaluation, RegressionEvaluation } from "../types.js";
