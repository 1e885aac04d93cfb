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
      /**
       * NDIF's job status, or `PREFLIGHT` (a version warning in `message`), `RETRYING`, `REATTACHED`
       * (a recorded job is collected).
       */
      status: RemoteJobStatus;
      host: string;
      jobId?: string;
      /** 1-based batch number within the current request, and the request's batch count. */
      batch?: number;
      batches?: number;
      /** Retries made so far for this batch. */
      attempt?: number;
      message?: string;
    }
  | {
      /** `probe.exportNative`: the worker traces the ONNX graph, then the folder's files are hashed and written. */
      type: "export";
      phase: "onnx" | "hashing" | "written";
      path?: string;
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

/** Metrics of `Probe.evaluate` for a classification probe. */
export interface ClassificationEvaluation {
  task: "classification";
  accuracy: number;
  /**
   * Area under the ROC curve: of P(classes[1]) for two classes, one-vs-rest macro average for
   * more; `null` when undefined (a class missing from the labels, or no probabilities).
   */
  auroc: number | null;
  /** Binary (positive label 1, like lmprobe) for two classes; macro average for more. */
  f1: number;
  precision: number;
  recall: number;
  /** Number of evaluated prompts. */
  nEval: number;
  /** `sha256:` hash identifying the evaluation set (sorted prompts and labels), computed like lmprobe. */
  evalHash: string;
}

/** Metrics of `Probe.evaluate` for a regression probe. */
export interface RegressionEvaluation {
  task: "regression";
  /** Coefficient of determination. */
  r2: number;
  /** Mean squared error. */
  mse: number;
  /** Mean absolute error. */
  mae: number;
  nEval: number;
  evalHash: string;
}

/** Metrics returned by `Probe.evaluate`; `task` tells which. */
export type EvaluationResult = (ClassificationEvaluation | RegressionEvaluation) & {
  /** Swept probes (`layers: "sweep…"`): each layer's accuracy (R²) on these labels. */
  layerResults?: Record<number, number>;
  /** Swept probes: the best layer, which the probe now uses. */
  bestLayer?: number;
};
