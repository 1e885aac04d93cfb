/** Errors of remote execution on NDIF (transport, auth, rejection, failed or timed-out jobs). */
import { LmprobeError, type LmprobeErrorCode } from "./base.js";

/** Where a remote (NDIF) failure happened: host, job, last status, attempts. */
export interface RemoteErrorInfo {
  /** The NDIF host, e.g. `"https://api.ndif.us"`. */
  host?: string;
  /** The NDIF job id, when a job was submitted. */
  jobId?: string;
  /** The job's last status seen (`"QUEUED"`, `"RUNNING"`, `"ERROR"`...). */
  status?: string;
  /** Attempts made for the failing batch (1 + retries). */
  attempts?: number;
  /** HTTP status of the failing request, when there was one. */
  httpStatus?: number;
}

/**
 * A failure of remote execution on NDIF. `code` tells which: `REMOTE` (transport, retries
 * exhausted), `REMOTE_AUTH` (missing or refused `NDIF_API_KEY`), `REMOTE_REJECTED` (the server
 * refused the request, e.g. an unknown model or a client version it does not accept), plus the
 * subclasses {@link RemoteJobError} and {@link RemoteTimeoutError}.
 */
export class RemoteError extends LmprobeError {
  readonly host: string | undefined;
  readonly jobId: string | undefined;
  readonly status: string | undefined;
  readonly attempts: number | undefined;
  readonly httpStatus: number | undefined;
  constructor(
    code: Extract<LmprobeErrorCode, `REMOTE${string}`>,
    message: string,
    info: RemoteErrorInfo = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.host = info.host;
    this.jobId = info.jobId;
    this.status = info.status;
    this.attempts = info.attempts;
    this.httpStatus = info.httpStatus;
  }
}

/** An NDIF job ended in ERROR; `remoteTraceback` is the server's description (its Python traceback). */
export class RemoteJobError extends RemoteError {
  readonly remoteTraceback: string;
  constructor(message: string, remoteTraceback: string, info: RemoteErrorInfo = {}) {
    super("REMOTE_JOB", message, info);
    this.remoteTraceback = remoteTraceback;
  }
}

/** An NDIF job did not complete before its deadline. The job stays recorded: a rerun collects it. */
export class RemoteTimeoutError extends RemoteError {
  /** The deadline per job, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, info: RemoteErrorInfo = {}) {
    super("REMOTE_TIMEOUT", message, info);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The Ray cluster could not be reached, was lost during a request, could not place the actors, or a
 * shard's actors kept dying (after the retries). What the TypeScript cache committed before stays.
 */
export class RayClusterError extends LmprobeError {
  /** The cluster address the worker used, when known. */
  readonly address: string | undefined;
  constructor(message: string, address?: string, options?: { cause?: unknown }) {
    super("RAY_CLUSTER", message, options);
    this.address = address;
  }
}
