/**
 * The root of the error tree: the stable error codes and {@link LmprobeError}, which every
 * error the SDK throws extends (programs branch on `code` or `instanceof`, never on the message).
 */

/** Stable error codes. */
export type LmprobeErrorCode =
  | "INVALID_OPTION"
  | "INVALID_INPUT"
  | "NOT_FITTED"
  | "MODEL_NOT_FOUND"
  | "PYTHON_ENV"
  | "WORKER_START"
  | "WORKER_EXITED"
  | "PROTOCOL"
  | "PYTHON_EXCEPTION"
  | "PYTHON_OOM"
  | "BAD_REQUEST"
  | "BAD_ACTIVATIONS"
  | "UNSUPPORTED_MODEL"
  | "ABORTED"
  | "TIMEOUT"
  | "CACHE"
  | "NOT_SUPPORTED"
  | "PROBE_FILE"
  | "REMOTE"
  | "REMOTE_AUTH"
  | "REMOTE_REJECTED"
  | "REMOTE_JOB"
  | "REMOTE_TIMEOUT"
  | "MISSING_DEPENDENCY"
  | "WORKER_CONNECT"
  | "RAY_CLUSTER";

/** Base class of every error thrown by lmprobe-ts. */
export class LmprobeError extends Error {
  /** Stable machine-readable code. */
  readonly code: LmprobeErrorCode;
  constructor(code: LmprobeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // Each class names itself (stack traces, `err.name`, the CLI's "Name [CODE]"): no list to keep.
    Object.defineProperty(this, "name", {
      value: new.target.name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}
