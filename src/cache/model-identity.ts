/**
 * What identifies a model's activations in the cache: hub id + commit sha, an embedded model's
 * source file hash, or a content fingerprint of a local folder (config, tokenizer and weight
 * files), combined with the backend, the weights' dtype and the extraction code's version.
 * A model name alone is not enough: the same name can hold other weights tomorrow.
 */
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ModelNotFoundError } from "../errors.js";
import type { ResolvedModel } from "../models/resolve-model.js";
import type { ActivationCache } from "./activation-cache.js";
import { errorCode, errorMessage, parseJsonObject } from "../internal/unknown-values.js";

/** Bump when the worker's extraction semantics change: old entries then stop matching. */
export const EXTRACTION_VERSION = 1;

/** Hash of a prompt's text, the cache's per-prompt key. */
export function promptHash(prompt: string): string {
  return createHash("sha256").update(prompt, "utf8").digest("hex");
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest("hex");
}

/** Content fingerprint of a model folder, memoised in the cache index by (name, size, mtime) of its files. */
async function folderDigest(dir: string, cache: ActivationCache): Promise<string> {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith(".") && !/^readme/i.test(d.name))
    .map((d) => d.name)
    .sort();
  const stat = JSON.stringify(files.map((f) => [f, statSync(join(dir, f)).size, statSync(join(dir, f)).mtimeMs]));
  const known = cache.lookupFingerprint(dir, stat);
  if (known) return known;
  const hash = createHash("sha256");
  for (const f of files) hash.update(`${f}\0${await fileDigest(join(dir, f))}\n`);
  const digest = hash.digest("hex");
  cache.storeFingerprint(dir, stat, digest);
  return digest;
}

/** The identity of a resolved model's activations, and the cache key derived from it. */
export async function modelCacheKey(
  model: ResolvedModel,
  settings: { backend: string; dtype: string },
  cache: ActivationCache,
): Promise<{ modelKey: string; identity: Record<string, unknown> }> {
  try {
    return await identify(model, settings, cache);
  } catch (err) {
    const code = errorCode(err);
    if (code !== "ENOENT" && code !== "EACCES" && code !== "ENOTDIR" && !(err instanceof SyntaxError)) throw err;
    // The folder changed under us (deleted, unreadable, a damaged embedded marker): name it and the fix.
    throw new ModelNotFoundError(
      model.name,
      `Cannot read the model folder ${model.path} to fingerprint it (${errorMessage(err)}). ` +
        "Check that it still exists and is readable (for an embedded model, run `lmprobe setup --force`).",
      { cause: err },
    );
  }
}

async function identify(
  model: ResolvedModel,
  settings: { backend: string; dtype: string },
  cache: ActivationCache,
): Promise<{ modelKey: string; identity: Record<string, unknown> }> {
  let source: Record<string, unknown>;
  if (model.source) {
    source = model.source; // a served worker's model, identified on its machine the same way
  } else if (model.name.startsWith("embedded:")) {
    const marker = parseJsonObject(readFileSync(join(model.path, "lmprobe_embedded.json"), "utf8"));
    source = { kind: "embedded", name: model.name, gguf_sha256: marker.gguf_sha256 ?? marker.sha256 ?? null };
  } else if (model.revision) {
    source = { kind: "hub", repo: model.name, sha: model.revision };
  } else {
    source = { kind: "local", digest: await folderDigest(model.path, cache) };
  }
  const identity = { ...source, backend: settings.backend, dtype: settings.dtype, extraction: EXTRACTION_VERSION };
  const modelKey = createHash("sha256").update(JSON.stringify(identity)).digest("hex");
  cache.registerModel(modelKey, model.name, identity);
  return { modelKey, identity };
}
