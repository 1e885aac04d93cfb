/**
 * Small readers for decoded wire values. The worker is trusted to follow the protocol, but a
 * decoded body is `unknown` to TypeScript: these helpers are the one place its values become
 * typed arrays and numbers (copies: frame buffers are transient).
 */
import type { Tensor } from "./codec.js";

/** A decoded message body: string keys, msgpack values, tensors as {@link Tensor}. */
export type WireBody = Record<string, unknown>;

/** A tensor's values as a fresh Float64Array (int64 frames are converted value by value). */
export function f64(t: Tensor): Float64Array {
  if (t.data instanceof BigInt64Array) return Float64Array.from(t.data, Number);
  return Float64Array.from(t.data);
}

/** A tensor's values as plain numbers. */
export function numbers(t: Tensor): number[] {
  return t.data instanceof BigInt64Array ? Array.from(t.data, Number) : Array.from(t.data);
}

/** Rows of a (rows × columns) tensor as number arrays. */
export function rowsOf(t: Tensor, rows: number): number[][] {
  const c = t.shape[1] ?? 0;
  const all = numbers(t);
  return Array.from({ length: rows }, (_, i) => all.slice(i * c, (i + 1) * c));
}
