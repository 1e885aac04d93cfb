/** The worker's `progress` bodies, and their public form ({@link ProgressEvent}). */
import type { ProgressEvent, RemoteJobStatus } from "../types.js";
import type { WireBody } from "./wire-values.js";

/** A `progress` body as the worker sends it (one shape per `stage`). */
export type ProgressWire =
  | { stage: "extract"; done: number; total: number; tokens: number }
  | { stage: "model"; phase: "loading" | "loaded"; model: string }
  | { stage: "fit"; phase: "start" | "done" }
  | {
      stage: "remote";
      status: RemoteJobStatus;
      host?: string;
      job_id?: string | null;
      batch?: number;
      batches?: number;
      attempt?: number;
      message?: string;
    }
  | { stage: "embedded"; message: string }
  | { stage: "export"; phase: "onnx"; model: string };

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** Maps a raw progress body to the public event (undefined for stages this SDK does not know). */
export function progressFromWire(body: WireBody): ProgressEvent | undefined {
  const b = body as Partial<Record<string, unknown>>;
  switch (b.stage) {
    case "extract":
      return { type: "extract", completed: Number(b.done), total: Number(b.total), tokens: Number(b.tokens) };
    case "model":
      return { type: "model", phase: b.phase === "loaded" ? "loaded" : "loading", model: String(b.model) };
    case "fit":
      return { type: "fit", phase: b.phase === "done" ? "done" : "start" };
    case "remote": {
      const [batch, batches, attempt] = [num(b.batch), num(b.batches), num(b.attempt)];
      return {
        type: "remote",
        status: String(b.status) as RemoteJobStatus,
        host: String(b.host ?? ""),
        ...(b.job_id != null ? { jobId: String(b.job_id) } : {}),
        ...(batch !== undefined ? { batch } : {}),
        ...(batches !== undefined ? { batches } : {}),
        ...(attempt !== undefined ? { attempt } : {}),
        ...(typeof b.message === "string" ? { message: b.message } : {}),
      };
    }
    case "embedded":
      return { type: "model", phase: "preparing", model: "embedded", message: String(b.message) };
    case "export":
      return { type: "export", phase: "onnx" };
    default:
      return undefined;
  }
}
