/** Public result and event types shared across the API. */

/** Progress of a long call, delivered to the `onProgress` callback of that call. */
export type ProgressEvent =
  | { type: "setup"; message: string }
  | { type: "worker"; phase: "starting" | "ready"; pid?: number }
  | { type: "model"; phase: "resolving" | "preparing" | "loading" | "loaded"; model: string; message?: string }
  | { type: "extract"; completed: number; total: number; tokens: number; cached?: number }
  | { type: "fit"; phase: "start" | "done" };

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
