/**
 * Streaming aggregations of per-token scores, for monitors that watch a stream of tokens:
 *
 * - `ema:ALPHA` (0 < ALPHA ≤ 1): the exponential moving average s_0 = p_0,
 *   s_t = ALPHA·p_t + (1 − ALPHA)·s_{t−1}, then its maximum over the sequence. ALPHA = 1 is the plain max.
 * - `rolling:N` (N a positive integer): the mean of each window of N consecutive tokens, then the
 *   maximum over the windows. A sequence shorter than N has one (shorter) window: its mean. Only
 *   full windows count otherwise, so one early token never stands for a whole window.
 *
 * Each probability column (or regression value) is reduced on its own, as lmprobe's score-level
 * max/min are; the label is the argmax of the reduced row.
 */
import { InvalidOptionError } from "../errors.js";

/** A streaming score-level reduction, `ema:ALPHA` or `rolling:N`. */
export type StreamReduction = `ema:${number}` | `rolling:${number}`;

/** A parsed streaming reduction. */
export type StreamSpec = { kind: "ema"; alpha: number } | { kind: "rolling"; n: number };

/** Matches the shape of a streaming reduction; the value is checked by {@link parseStreamReduction}. */
export const STREAM_PATTERN = /^(ema|rolling):[^:]*$/;

/** True when `value` has the form `ema:…` or `rolling:…`. */
export function isStreamReduction(value: string): value is StreamReduction {
  return STREAM_PATTERN.test(value);
}

/**
 * Parses `ema:ALPHA` / `rolling:N`; a bad value is an InvalidOptionError naming `option`.
 * Numbers are plain decimals ("0.25", "1e-1"), not "", "Infinity" or hex.
 */
export function parseStreamReduction(value: string, option = "inferencePooling"): StreamSpec {
  const [kind, raw = ""] = value.split(":");
  const num = /^[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : Number.NaN;
  if (kind === "ema") {
    if (num > 0 && num <= 1) return { kind, alpha: num };
    throw new InvalidOptionError(
      option,
      `Invalid Probe options: ${option} "${value}": ema:ALPHA needs 0 < ALPHA <= 1 ` +
        '(e.g. "ema:0.3"; 1 is the plain max).',
    );
  }
  if (kind === "rolling" && Number.isSafeInteger(num) && num >= 1) return { kind, n: num };
  throw new InvalidOptionError(
    option,
    `Invalid Probe options: ${option} "${value}": rolling:N needs a positive integer window N (e.g. "rolling:8").`,
  );
}

/** The streaming reduction of one column of per-token scores (see the module comment). */
export function reduceStream(values: number[], spec: StreamSpec): number {
  if (spec.kind === "ema") {
    let s = values[0]!;
    let best = s;
    for (let t = 1; t < values.length; t++) {
      s = spec.alpha * values[t]! + (1 - spec.alpha) * s;
      if (s > best) best = s;
    }
    return best;
  }
  const n = Math.min(spec.n, values.length);
  let sum = 0;
  for (let t = 0; t < n; t++) sum += values[t]!;
  let best = sum / n;
  for (let t = n; t < values.length; t++) {
    sum += values[t]! - values[t - n]!;
    best = Math.max(best, sum / n);
  }
  return best;
}
