/**
 * The worker's error bodies → the typed error tree: one place maps every worker code to its
 * LmprobeError subclass (as openai-node's single `APIError.generate`), so no code dies on the wire.
 */
import {
  AbortError,
  BadActivationsError,
  BadRequestError,
  InvalidInputError,
  ModelNotFoundError,
  NotFittedError,
  PythonError,
  PythonOomError,
  RemoteError,
  RayClusterError,
  RemoteJobError,
  RemoteTimeoutError,
  UnsupportedModelError,
  type LmprobeError,
  type PythonErrorInfo,
  type RemoteErrorInfo,
} from "../errors.js";

/** Every code the worker may put in an error body (python_worker errors; checked by the contract test). */
export const WORKER_ERROR_CODES = [
  "BAD_ACTIVATIONS",
  "BAD_REQUEST",
  "CANCELLED",
  "INVALID_INPUT",
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
  "RAY_CLUSTER",
] as const;

/** A code the worker may send. */
export type WorkerErrorCode = (typeof WORKER_ERROR_CODES)[number];

/** An `error` reply body as the worker sends it. */
export interface WireErrorBody {
  code?: unknown;
  ename?: unknown;
  evalue?: unknown;
  traceback?: unknown;
  details?: unknown;
}

const text = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : v == null ? fallback : String(v));
const record = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function remoteInfo(d: Record<string, unknown>): RemoteErrorInfo {
  return {
    ...(typeof d.host === "string" ? { host: d.host } : {}),
    ...(d.job_id != null ? { jobId: text(d.job_id) } : {}),
    ...(typeof d.status === "string" ? { status: d.status } : {}),
    ...(typeof d.attempts === "number" ? { attempts: d.attempts } : {}),
    ...(typeof d.http_status === "number" ? { httpStatus: d.http_status } : {}),
  };
}

/** The typed error for the worker's `error` reply to a request of type `method`. */
export function errorFromWire(method: string, body: WireErrorBody): LmprobeError {
  const code = text(body.code, "PYTHON_EXCEPTION");
  const message = text(body.evalue, `the worker failed in ${method}`);
  const details = record(body.details);
  const info: PythonErrorInfo = {
    code,
    ename: text(body.ename, "Error"),
    evalue: message,
    traceback: Array.isArray(body.traceback) ? body.traceback.map((line) => text(line)) : [],
  };
  switch (code as WorkerErrorCode) {
    case "CANCELLED":
      return new AbortError();
    case "PYTHON_OOM":
      return new PythonOomError(method, info);
    case "BAD_REQUEST":
      return new BadRequestError(method, info);
    case "BAD_ACTIVATIONS":
      return new BadActivationsError(method, info);
    case "INVALID_INPUT": {
      const index = typeof details.index === "number" ? details.index : undefined;
      return new InvalidInputError(text(details.argument, "prompts"), message, index === undefined ? {} : { index });
    }
    case "MODEL_NOT_FOUND":
      return new ModelNotFoundError(text(details.model, ""), message);
    case "UNSUPPORTED_MODEL":
      return new UnsupportedModelError(text(details.model, ""), message);
    case "NOT_FITTED":
      return new NotFittedError(method, message);
    case "REMOTE_JOB":
      return new RemoteJobError(message, text(details.remote_traceback, message), remoteInfo(details));
    case "REMOTE_TIMEOUT":
      return new RemoteTimeoutError(message, Math.round(Number(details.timeout_s ?? 0) * 1000), remoteInfo(details));
    case "REMOTE":
    case "REMOTE_AUTH":
    case "REMOTE_REJECTED":
      return new RemoteError(code as "REMOTE" | "REMOTE_AUTH" | "REMOTE_REJECTED", message, remoteInfo(details));
    case "RAY_CLUSTER":
      return new RayClusterError(message, typeof details.address === "string" ? details.address : undefined);
    default:
      // PYTHON_EXCEPTION, or a code from a newer worker: keep its code in `workerCode`.
      return new PythonError(method, info);
  }
}
