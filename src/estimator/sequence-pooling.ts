/**
 * Pooling over a prompt's real tokens, on data already in memory (a cached full sequence or a
 * token-level extraction): no I/O, so the cache, the activation source and inference share it.
 */
import type { Reduction } from "./pooling.js";

/** One prompt's unpadded token activations for one layer: `rows` tokens × `dim`, row-major. */
export interface TokenRows {
  rows: number;
  dim: number;
  data: Float32Array;
}

/**
 * Activations for a batch of prompts, in the form the estimator consumes: pooled rows
 * (n, layers, hidden) in `data`, or with token-level requests each prompt's real tokens as
 * (tokens, layers, hidden) in `sequences` (then `data` is empty).
 */
export interface ActivationBlock {
  data: Float32Array;
  n: number;
  hidden: number;
  sequences?: Float32Array[];
}

/**
 * Reduces a full unpadded sequence (rows × dim) over its tokens. Sequences hold real tokens only,
 * so first_token is the first real token whatever the padding side.
 */
export function poolSequence(seq: TokenRows, pooling: Reduction): Float32Array {
  const { rows, dim, data } = seq;
  if (pooling === "last_token") return data.slice((rows - 1) * dim, rows * dim);
  if (pooling === "first_token") return data.slice(0, dim);
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    let s = pooling === "mean" ? 0 : data[j]!;
    for (let r = pooling === "mean" ? 0 : 1; r < rows; r++) {
      const v = data[r * dim + j]!;
      s = pooling === "mean" ? s + v : pooling === "max" ? Math.max(s, v) : Math.min(s, v);
    }
    out[j] = pooling === "mean" ? s / rows : s;
  }
  return out;
}
