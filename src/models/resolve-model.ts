/**
 * Model resolution in TypeScript: a local folder, an embedded model ("embedded:smollm2-135m",
 * converted once into LMPROBE_HOME), or a hub id (a snapshot in the local HF cache, downloaded
 * with @huggingface/hub when the hub is reachable). The worker always receives a local folder.
 */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { loadHub } from "../internal/lazy-hub.js";
import { ModelNotFoundError } from "../errors.js";
import { embeddedModelsDir } from "../env/paths.js";
import { withLock } from "../internal/lock.js";
import type { ProgressEvent } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { EMBEDDED_MODELS, EMBEDDED_PREFIX, isEmbeddedModel } from "./embedded-models.js";
import { readModelConfig } from "./model-config.js";
import type { ResolvedModel } from "./resolved-model.js";
import { resolveOnServedWorker } from "./served-model.js";
import { downloadWeightless, hfToken, hubAuth } from "./weightless-model.js";
import { errorMessage } from "../internal/unknown-values.js";

export { EMBEDDED_MODELS, EMBEDDED_PREFIX } from "./embedded-models.js";

export type { ResolvedModel } from "./resolved-model.js";

/** True for strings that name a local path rather than a hub id. */
function looksLikePath(model: string): boolean {
  return isAbsolute(model) || model.startsWith(".") || model.startsWith("~") || existsSync(model);
}

function hubCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return join(env.HF_HOME ?? join(homedir(), ".cache", "huggingface"), "hub");
}

/** The snapshot folder of a hub model in the local HF cache, if present. */
async function cachedSnapshot(
  repo: string,
  revision: string,
  env: NodeJS.ProcessEnv,
): Promise<{ path: string; sha: string } | undefined> {
  const base = join(hubCacheDir(env), `models--${repo.replace(/\//g, "--")}`);
  const sha = /^[0-9a-f]{40}$/.test(revision)
    ? revision
    : (await readFile(join(base, "refs", revision), "utf8").catch(() => "")).trim();
  if (!sha) return undefined;
  const path = join(base, "snapshots", sha);
  return existsSync(join(path, "config.json")) ? { path, sha } : undefined;
}

/** Resolves a model name to a local folder and reads its layer count. */
export async function resolveModel(
  model: string,
  options: {
    runtime: PythonRuntime;
    revision?: string;
    signal?: AbortSignal;
    onProgress?: (e: ProgressEvent) => void;
    env?: NodeJS.ProcessEnv;
    /** Config and tokenizer only (remote runs build a weightless model): never download weights. */
    weightless?: boolean;
  },
): Promise<ResolvedModel> {
  // A served worker's folders are on its machine: it resolves the name itself.
  if (options.runtime.servedEndpoint) return resolveOnServedWorker(model, options);
  const env = options.env ?? process.env;
  if (model.startsWith(EMBEDDED_PREFIX)) {
    const path = await prepareEmbedded(model.slice(EMBEDDED_PREFIX.length), options.runtime, env, options);
    return { name: model, path, ...(await readModelConfig(model, path)) };
  }
  if (looksLikePath(model)) {
    const path = resolve(model.startsWith("~") ? join(homedir(), model.slice(1)) : model);
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new ModelNotFoundError(
        model,
        `Model ${model}: ${path} is not a folder. ` +
          'Pass a folder saved with save_pretrained(), a hub id, or "embedded:smollm2-135m".',
      );
    }
    return { name: model, path, ...(await readModelConfig(model, path)) };
  }
  const revision = options.revision ?? "main";
  let snap = await cachedSnapshot(model, revision, env);
  if (!snap) {
    try {
      const token = hfToken(env);
      if (options.weightless) {
        snap = await downloadWeightless(model, revision, hubCacheDir(env), env);
      } else {
        const { snapshotDownload } = await loadHub();
        const path = await snapshotDownload({ repo: model, revision, cacheDir: hubCacheDir(env), ...hubAuth(token) });
        snap = { path, sha: path.split(/[\\/]/).pop() ?? revision };
      }
    } catch (err) {
      throw new ModelNotFoundError(
        model,
        `Model ${model}@${revision} is not in the local Hugging Face cache (${hubCacheDir(env)}) ` +
          `and could not be downloaded: ${errorMessage(err)}. ` +
          `Download it where the hub is reachable (e.g. \`hf download ${model}\`), or pass a local folder.`,
        { cause: err },
      );
    }
  }
  return { name: model, path: snap.path, revision: snap.sha, ...(await readModelConfig(model, snap.path)) };
}

/** Converts an embedded model once (in the worker) and returns its folder. */
async function prepareEmbedded(
  name: string,
  runtime: PythonRuntime,
  env: NodeJS.ProcessEnv,
  options: { signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void },
): Promise<string> {
  if (!isEmbeddedModel(name)) {
    throw new ModelNotFoundError(
      `${EMBEDDED_PREFIX}${name}`,
      `Unknown embedded model "${name}"; known: ${EMBEDDED_MODELS.join(", ")}.`,
    );
  }
  const dir = join(embeddedModelsDir(env), name);
  const marker = join(dir, "lmprobe_embedded.json");
  if (existsSync(marker)) return dir;
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(marker)) return;
    options.onProgress?.({
      type: "model",
      phase: "preparing",
      model: `${EMBEDDED_PREFIX}${name}`,
      message: "converting the embedded GGUF into a Hugging Face folder (once, ~30 s)",
    });
    await runtime.call("embedded_prepare", { name, out_dir: dir }, options);
  });
  return dir;
}
