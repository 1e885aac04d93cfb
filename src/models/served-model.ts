/**
 * Model resolution through a served worker (`PythonRuntime({ connect })`): the client shares no
 * file system with it, so the worker resolves the name on its own disk (a folder there, a hub id
 * in its Hugging Face cache, or an embedded model it converts under its own LMPROBE_HOME) and
 * returns the folder, its config.json and the cache identity of the weights.
 */
import { ModelNotFoundError } from "../errors.js";
import type { ProgressEvent } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { layerCount } from "./model-config.js";
import type { ResolvedModel } from "./resolved-model.js";

/** Resolves `model` on the served worker of `runtime`. */
export async function resolveOnServedWorker(
  model: string,
  options: { runtime: PythonRuntime; revision?: string; signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void },
): Promise<ResolvedModel> {
  const { runtime, revision, signal, onProgress } = options;
  const reply = await runtime.call(
    "model_resolve",
    { model, ...(revision ? { revision } : {}) },
    { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) },
  );
  const numLayers = layerCount(reply.config);
  if (numLayers === undefined)
    throw new ModelNotFoundError(model, `Model ${model}: config.json on the served worker declares no layer count.`);
  return {
    name: model,
    path: reply.path,
    ...(reply.revision ? { revision: reply.revision } : {}),
    numLayers,
    config: reply.config,
    source: reply.source,
  };
}
