/**
 * Percentile bootstrap, seeded and deterministic: resample rows with replacement from a
 * mulberry32 generator seeded with `seed` (row = ⌊u · size⌋ for each uniform u in [0, 1)), and
 * take numpy's default ("linear") percentiles of a statistic over the resamples. The same seed,
 * size and count give the same resamples on every platform (integer arithmetic only).
 */
import type { Interval } from "../types.js";
import { mulberry32 } from "../internal/mulberry32.js";

/** The row indices of `count` bootstrap resamples of `size` rows each, from `seed`. */
export function bootstrapIndices(size: number, count: number, seed: number): Uint32Array[] {
  const next = mulberry32(seed);
  const out: Uint32Array[] = [];
  for (let r = 0; r < count; r++) {
    const rows = new Uint32Array(size);
    for (let i = 0; i < size; i++) rows[i] = Math.floor(next() * size);
    out.push(rows);
  }
  return out;
}

/** numpy's `percentile(values, q)` with the default "linear" method (q in [0, 100]), step for step. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const quantile = q / 100;
  const virtual = n * quantile + (1 - quantile) - 1; // numpy's _compute_virtual_index with alpha = beta = 1
  const lo = Math.min(Math.max(Math.floor(virtual), 0), n - 1);
  const hi = Math.min(lo + 1, n - 1);
  const t = virtual - Math.floor(virtual);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  // numpy's _lerp: from the nearer end, so t = 1 gives b exactly.
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** The central `confidence` percentile interval of `values` (e.g. 0.95: 2.5th and 97.5th); null if empty. */
export function percentileInterval(values: readonly number[], confidence: number): Interval | null {
  if (values.length === 0) return null;
  const tail = ((1 - confidence) / 2) * 100;
  return { lower: percentile(values, tail), upper: percentile(values, 100 - tail) };
}
