/** Maps the worker's remote failures (codes `REMOTE*`) to the typed remote errors. */
import { RemoteError, RemoteJobError, RemoteTimeoutError, type LmprobeError, type RemoteErrorInfo } from "../errors.js";

const CODES = new Set(["REMOTE", "REMOTE_AUTH", "REMOTE_REJECTED", "REMOTE_JOB", "REMOTE_TIMEOUT"]);

/** The typed error for a worker error body, or undefined when it is not a remote failure. */
export function remoteErrorFromWire(body: Record<string, unknown>): LmprobeError | undefined {
  const code = String(body.code ?? "");
  if (!CODES.has(code)) return undefined;
  const d = (body.details ?? {}) as Record<string, unknown>;
  const info: RemoteErrorInfo = {
    ...(typeof d.host === "string" ? { host: d.host } : {}),
    ...(d.job_id != null ? { jobId: String(d.job_id) } : {}),
    ...(typeof d.status === "string" ? { status: d.status } : {}),
    ...(typeof d.attempts === "number" ? { attempts: d.attempts } : {}),
    ...(typeof d.http_status === "number" ? { httpStatus: d.http_status } : {}),
  };
  const message = String(body.evalue ?? "remote execution failed");
  if (code === "REMOTE_JOB") return new RemoteJobError(message, String(d.remote_traceback ?? message), info);
  if (code === "REMOTE_TIMEOUT") return new RemoteTimeoutError(message, Math.round(Number(d.timeout_s ?? 0) * 1000), info);
  return new RemoteError(code as "REMOTE" | "REMOTE_AUTH" | "REMOTE_REJECTED", message, info);
}
