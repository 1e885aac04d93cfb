/** Where lmprobe-ts keeps its files: the managed venv, embedded models, the activation cache. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PACKAGE_ROOT } from "../internal/package-root.js";

export { PACKAGE_ROOT };

/** Folder that holds the worker's Python package (put on PYTHONPATH). */
export const WORKER_PYTHONPATH = join(PACKAGE_ROOT, "python_worker");

/** `LMPROBE_HOME`, else the per-user cache folder of this platform. */
export function lmprobeHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LMPROBE_HOME) return resolve(env.LMPROBE_HOME);
  if (process.platform === "win32") return join(env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "lmprobe-ts");
  if (process.platform === "darwin") return join(homedir(), "Library", "Caches", "lmprobe-ts");
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "lmprobe-ts");
}

/** The managed virtual environment. */
export function venvDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(lmprobeHome(env), "venv");
}

/** The interpreter inside a venv. */
export function venvPython(dir: string): string {
  return process.platform === "win32" ? join(dir, "Scripts", "python.exe") : join(dir, "bin", "python");
}

/** Where converted embedded models live. */
export function embeddedModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(lmprobeHome(env), "models");
}

/** The activation cache: `LMPROBE_CACHE_DIR`, else `LMPROBE_HOME/activations`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LMPROBE_CACHE_DIR ? resolve(env.LMPROBE_CACHE_DIR) : join(lmprobeHome(env), "activations");
}

/** The cache's size bound in GB: `LMPROBE_CACHE_MAX_GB` (0 disables writing), default 20. */
export function cacheMaxGb(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LMPROBE_CACHE_MAX_GB;
  const value = raw === undefined || raw === "" ? 20 : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : 20;
}
