/**
 * The calibrated decision threshold of a binary probe: how `calibrate` picks it on negative-only
 * control scores, and how predictions use it (`P(classes[1]) >= threshold` flags classes[1]).
 */
import { InvalidInputError, InvalidOptionError, NotSupportedError } from "../errors.js";
import type { FittedState } from "./fitted-state.js";
import { hasProba, type RowScores } from "./scoring.js";

/**
 * What `calibrate` chose. The rule: the smallest control score `v` such that the controls scoring
 * ≥ `v` are at most `fpr` of them (ties count together); with too few controls for that, the next
 * double above the top control score (no control flagged).
 */
export interface Calibration {
  /** The decision threshold on P(classes[1]), now stored with the probe. */
  threshold: number;
  /** The false-positive rate asked for. */
  fpr: number;
  /** The fraction of control prompts the threshold flags (≤ `fpr`). */
  controlFpr: number;
  /** Number of control prompts. */
  nControls: number;
}

/**
 * Picks the threshold for a target FPR on control (negative) scores: the smallest control score
 * `v` such that the controls scoring ≥ `v` are at most a fraction `fpr` of all controls (ties
 * count together). Where no control score qualifies (fewer than 1/fpr controls, or ties at the
 * top), the threshold is the next double above the highest control score, so no control is flagged.
 */
export function pickThreshold(controlScores: number[], fpr: number): { threshold: number; controlFpr: number } {
  const sorted = [...controlScores].sort((a, b) => b - a);
  const n = sorted.length;
  let threshold = nextUp(sorted[0]!);
  let flagged = 0;
  for (let k = 0; k < n; k++) {
    // k + 1 controls score ≥ sorted[k] once the whole tie group is in; test only at a group's end.
    if (sorted[k + 1] === sorted[k]) continue;
    if ((k + 1) / n > fpr) break;
    threshold = sorted[k]!;
    flagged = k + 1;
  }
  return { threshold, controlFpr: flagged / n };
}

/** The smallest double above `x` (finite x). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigInt64(0);
  buf.setBigInt64(0, x > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}

/** Throws unless the state is a binary classifier with probabilities (`method` names the call). */
export function requireBinaryProba(state: FittedState, method: string): void {
  if (state.task === "regression")
    throw new NotSupportedError(method, `${method} applies to binary classifiers; this probe does regression.`);
  const k = state.model.classes.length;
  if (k !== 2)
    throw new NotSupportedError(
      method,
      `${method} needs a binary probe (one threshold on P(positive)); this probe has ${k} classes. ` +
        "Train one probe per class against the rest to monitor each.",
    );
  if (!hasProba(state.model))
    throw new NotSupportedError(
      method,
      `${method} needs a classifier with probabilities (e.g. "logistic_regression"); this one has none.`,
    );
}

/** Checks a threshold set by hand: a finite number (probabilities lie in [0, 1]). */
export function checkThreshold(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value))
    throw new InvalidOptionError(
      "threshold",
      `probe.threshold must be a finite number (a probability of the positive class), or null to clear it; ` +
        `got ${String(value)}.`,
    );
  return value;
}

/** Checks calibrate's `fpr` option: a number in (0, 1). */
export function checkCalibrationFpr(fpr: unknown): number {
  if (typeof fpr !== "number" || !(fpr > 0 && fpr < 1))
    throw new InvalidOptionError(
      "fpr",
      `calibrate's option "fpr" must be a false-positive rate above 0 and below 1 (e.g. 0.01); got ${String(fpr)}.`,
    );
  return fpr;
}

/** Checks that control prompts yield scores to calibrate on. */
export function checkControls(n: number, argument: string): void {
  if (n === 0)
    throw new InvalidInputError(argument, `calibrate needs at least one control (negative) example in ${argument}.`);
}

/** Relabels scored rows with the threshold: classes[1] where P(classes[1]) ≥ threshold, else classes[0]. */
export function applyThreshold(scores: RowScores, threshold: number | undefined, classes: number[]): RowScores {
  if (threshold === undefined || !scores.proba) return scores;
  return { ...scores, labels: scores.proba.map((p) => (p[1]! >= threshold ? classes[1]! : classes[0]!)) };
}
