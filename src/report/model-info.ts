/**
 * The model a sweep ran on, as its results record it: the name as given, the hub commit, and the
 * content identity the activation cache keys it by (an embedded model's source hash, a local
 * folder's digest), so a result can be traced to the exact weights.
 */
import { ActivationCache } from "../cache/activation-cache.js";
import { modelCacheKey } from "../cache/model-identity.js";
import { cacheMaxGb, defaultCacheDir } from "../env/paths.js";
import { resolveModel } from "../models/resolve-model.js";
import type { PythonRuntime } from "../worker/python-runtime.js";

/** The model of a sweep. */
export interface ModelInfo {
  /** The model as the user named it (hub id, folder, `embedded:…`). */
  id: string;
  /** Hub commit sha (hub models), else null. */
  revision: string | null;
  /** sha256 of the model's identity below (the activation cache's model key). */
  fingerprint: string;
  /** What identifies the weights: hub repo + sha, embedded source hash, or a folder digest; backend and dtype. */
  identity: Record<string, unknown>;
  /** Decoder blocks of the model. */
  numLayers: number;
}

/** Resolves `model` (already prepared by the sweep, so no download) and computes its identity. */
export async function modelInfo(
  model: string,
  settings: { runtime: PythonRuntime; revision?: string; backend: string; dtype: string },
): Promise<ModelInfo> {
  const { runtime, revision, backend, dtype } = settings;
  const resolved = await resolveModel(model, { runtime, ...(revision ? { revision } : {}) });
  const cache = new ActivationCache(defaultCacheDir(), { maxGb: cacheMaxGb() });
  try {
    const { modelKey, identity } = await modelCacheKey(resolved, { backend, dtype }, cache);
    return {
      id: model,
      revision: resolved.revision ?? null,
      fingerprint: `sha256:${modelKey}`,
      identity,
      numLayers: resolved.numLayers,
    };
  } finally {
    cache.close();
  }
}
