/**
 * The `remote` part of an `extract` request (NDIF), and the remote defaults: this is the one
 * place they live; the worker takes every value from the request. The API key is never part of
 * a body: the worker reads it from its environment.
 */

/** Defaults of remote execution (the public `RemoteOptions` document the same values). */
export const REMOTE_DEFAULTS = {
  /** Used when neither `remote.host` nor `NDIF_HOST` is set. */
  host: "https://api.ndif.us",
  timeoutMs: 3_600_000,
  pollIntervalMs: 2000,
  retryBackoffMs: 1000,
  maxRetries: 3,
  /** Activations travel from NDIF as float16 (half the bytes); they reach the user as float32. */
  transferDtype: "float16",
  /**
   * Remote chunks (one NDIF job each) kept in flight at once, so that queue and transfer waits
   * overlap; each is still committed to the cache as it completes.
   */
  chunksInFlight: 8,
} as const;

/** One remote extraction's settings, in TypeScript's terms. */
export interface RemoteJob {
  /** The hub repo NDIF runs. */
  repoId: string;
  revision: string | null;
  host: string;
  timeoutMs: number;
  pollIntervalMs: number;
  retryBackoffMs: number;
  maxRetries: number;
  /** Where submitted job ids are recorded (to collect them after a crash). */
  jobsFile: string;
  transferDtype: "float16";
  /** Chunks kept in flight at once (TypeScript only: each is its own request). */
  chunksInFlight: number;
}

/** The wire form of {@link RemoteJob}. */
export interface RemoteWire {
  repo_id: string;
  revision: string | null;
  host: string;
  timeout_s: number;
  poll_s: number;
  backoff_s: number;
  max_retries: number;
  jobs_file: string;
  transfer_dtype: "float16";
}

/** Translates remote settings to the request's snake_case (seconds, not milliseconds). */
export function remoteToWire(job: RemoteJob): RemoteWire {
  return {
    repo_id: job.repoId,
    revision: job.revision,
    host: job.host,
    timeout_s: job.timeoutMs / 1000,
    poll_s: job.pollIntervalMs / 1000,
    backoff_s: job.retryBackoffMs / 1000,
    max_retries: job.maxRetries,
    jobs_file: job.jobsFile,
    transfer_dtype: job.transferDtype,
  };
}
