/**
 * The error codes a worker may send in an `error` reply (`body.code`). The contract test checks
 * this list against the worker's own; errorFromWire maps each to its LmprobeError subclass.
 */
export const WORKER_ERROR_CODES = [
  "BAD_REQUEST",
  "BAD_ACTIVATIONS",
  "CANCELLED",
  "MODEL_NOT_FOUND",
  "NOT_FITTED",
  "PYTHON_EXCEPTION",
  "PYTHON_OOM",
  "REMOTE",
  "REMOTE_AUTH",
  "REMOTE_JOB",
  "REMOTE_REJECTED",
  "REMOTE_TIMEOUT",
  "UNSUPPORTED_MODEL",
] as const;

/** A code the worker may send. */
export type WorkerErrorCode = (typeof WORKER_ERROR_CODES)[number];

/** An `error` reply body. `details` is code-specific (remote job info, the bad argument…). */
export interface ErrorReply {
  code: WorkerErrorCode;
  ename: string;
  evalue: string;
  traceback: string[];
  details?: Record<string, unknown>;
}
