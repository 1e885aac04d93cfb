/**
 * What a probe sends the worker for remote (NDIF) extraction, and the checks made in TypeScript
 * before anything starts: the API key must be present (it reaches the worker through its
 * environment only; it is never put in a request body, a file or a message).
 */
import { join } from "node:path";
import { RemoteError } from "../errors.js";
import { lmprobeHome } from "../env/paths.js";
import type { ResolvedProbeOptions } from "../config/probe-options.js";
import type { ResolvedModel } from "../models/resolve-model.js";
import { REMOTE_DEFAULTS, type RemoteJob } from "../protocol/remote.js";

/** True when the options ask for NDIF. */
export function isRemote(o: Pick<ResolvedProbeOptions, "remote">): boolean {
  return o.remote !== false;
}

/**
 * Throws `RemoteError` (`REMOTE_AUTH`) when remote execution is asked for without `NDIF_API_KEY`
 * (in `process.env` or the shared runtime's `env`). Runs before any Python or network call.
 */
export function checkRemoteKey(
  o: Pick<ResolvedProbeOptions, "remote">,
  envValue: (name: string) => string | undefined,
): void {
  if (!isRemote(o)) return;
  if (!envValue("NDIF_API_KEY")) {
    throw new RemoteError(
      "REMOTE_AUTH",
      "remote: true needs an NDIF API key: get one at https://login.ndif.us and set NDIF_API_KEY in the environment " +
        "(or in the `env` of a shared PythonRuntime). " +
        "The key is handed to the worker through its environment and never written to disk.",
    );
  }
}

/**
 * The hub repo NDIF should run: the hub id for hub models, else the folder's `_name_or_path` if it names a
 * repo, else the folder.
 */
export function remoteRepoId(model: ResolvedModel): string {
  if (model.revision) return model.name;
  const named = model.config._name_or_path;
  if (typeof named === "string" && /^[\w.-]+\/[\w.-]+$/.test(named)) return named;
  return model.path;
}

/**
 * The remote settings of an extract request (defaults from {@link REMOTE_DEFAULTS}; the host is
 * `remote.host`, else the worker's `NDIF_HOST`, else NDIF's). Job ids are recorded in
 * `ndif-jobs.json` beside the activation cache (`cacheDir`), else in LMPROBE_HOME.
 */
export function remoteJob(
  o: ResolvedProbeOptions,
  model: ResolvedModel,
  cacheDir: string | null,
  env: NodeJS.ProcessEnv = process.env,
): RemoteJob | undefined {
  if (o.remote === false) return undefined;
  const r = o.remote === true ? {} : o.remote;
  return {
    repoId: remoteRepoId(model),
    revision: o.revision ?? null,
    host: r.host ?? (env.NDIF_HOST || REMOTE_DEFAULTS.host),
    timeoutMs: r.timeoutMs ?? REMOTE_DEFAULTS.timeoutMs,
    pollIntervalMs: r.pollIntervalMs ?? REMOTE_DEFAULTS.pollIntervalMs,
    retryBackoffMs: r.retryBackoffMs ?? REMOTE_DEFAULTS.retryBackoffMs,
    maxRetries: o.maxRetries ?? REMOTE_DEFAULTS.maxRetries,
    jobsFile: join(cacheDir ?? lmprobeHome(env), "ndif-jobs.json"),
    transferDtype: REMOTE_DEFAULTS.transferDtype,
    chunksInFlight: REMOTE_DEFAULTS.chunksInFlight,
  };
}
