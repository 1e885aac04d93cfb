/** The `score` RPC: a custom estimator kept in the worker scores transformed feature rows. */
import { tensor, type Tensor } from "./codec.js";
import { numbers, rowsOf } from "./wire-values.js";

/** The `score` request body. */
export interface ScoreRequest {
  handle: string;
  X: Tensor;
}

/** The `score` reply body: probabilities (n × classes) when the estimator has them, and predictions. */
export interface ScoreReply {
  proba: Tensor | null;
  predict: Tensor;
}

/** Builds the `score` request for `rows` feature rows of `width`. */
export function scoreToWire(handle: string, features: Float32Array, rows: number, width: number): ScoreRequest {
  return { handle, X: tensor(features, [rows, width]) };
}

/** Reads a `score` reply. */
export function scoresFromWire(reply: ScoreReply, rows: number): { proba?: number[][]; predict: number[] } {
  return { ...(reply.proba ? { proba: rowsOf(reply.proba, rows) } : {}), predict: numbers(reply.predict) };
}
