/** Public result and event types shared across the API. */

/** Progress of a long call, delivered to the `onProgress` callback of that call. */
export type ProgressEvent =
  | { type: "setup"; message: string }
  | { type: "worker"; phase: "starting" | "ready"; pid?: number }
  | { type: "model"; phase: "resolving" | "preparing" | "loading" | "loaded"; model: string; message?: string }
  | { type: "extract"; completed: number; total: number; tokens: number; cached?: number }
  | { type: "fit"; phase: "start" | "done" }
  | {
      /** A remote (NDIF) job changed state; one job per batch. */
      type: "remote";
      /** NDIF's job status, or `PREFLIGHT` (a version warning in `message`), `RETRYING`, `REATTACHED` (a recorded job is collected). */
      status: RemoteJobStatus;
      host: string;
      jobId?: string;
      /** 1-based batch number within the current request, and the request's batch count. */
      batch?: number;
      batches?: number;
      /** Retries made so far for this batch. */
      attempt?: number;
      message?: string;
    };

/** Job statuses of NDIF (nnsight 0.8.1's `Status`), plus the SDK's own `PREFLIGHT`, `RETRYING`, `REATTACHED`. */
export type RemoteJobStatus =
  | "RECEIVED"
  | "QUEUED"
  | "PROVISIONING"
  | "DEPLOYING"
  | "DISPATCHED"
  | "RUNNING"
  | "COMPLETED"
  | "ERROR"
  | "LOG"
  | "PREFLIGHT"
  | "RETRYING"
  | "REATTACHED";

/** Options accepted by every long-running method. */
export interface CallOptions {
  /** Cancels the call; the promise then rejects with `AbortError`. */
  signal?: AbortSignal;
  /** Receives progress events; a throwing callback is ignored. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Metrics returned by `Probe.evaluate`. */
export interface EvaluationResult {
  accuracy: number;
  /** Area under the ROC curve of P(positive class); `null` when undefined (one class in the labels). */
  auroc: number | null;
  f1: number;
  precision: number;
  recall: number;
  /** Number of evaluated prompts. */
  nEval: number;
  /** `sha256:` hash identifying the evaluation set (sorted prompts and labels), as lmprobe computes it. */
  evalHash: string;
}
