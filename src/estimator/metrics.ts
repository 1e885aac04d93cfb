/** Classification metrics computed in TypeScript, with scikit-learn's definitions. */
import { createHash } from "node:crypto";

/** Fraction of equal entries. */
export function accuracy(truth: number[], predicted: number[]): number {
  let hits = 0;
  truth.forEach((t, i) => {
    if (t === predicted[i]) hits++;
  });
  return hits / truth.length;
}

/** ROC AUC of scores for the positive label 1 (ties count half); null if only one class is present. */
export function rocAuc(truth: number[], scores: number[]): number | null {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const avg = (i + j) / 2 + 1; // average rank of a tie group
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = avg;
    i = j + 1;
  }
  let nPos = 0;
  let rankSum = 0;
  truth.forEach((t, i) => {
    if (t === 1) {
      nPos++;
      rankSum += ranks[i] ?? 0;
    }
  });
  const nNeg = truth.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Binary precision, recall and F1 for positive label 1, with zero_division=0. */
export function precisionRecallF1(
  truth: number[],
  predicted: number[],
): { precision: number; recall: number; f1: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  truth.forEach((t, i) => {
    const p = predicted[i];
    if (p === 1 && t === 1) tp++;
    else if (p === 1) fp++;
    else if (t === 1) fn++;
  });
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  // sklearn's form (2tp / (2tp + fp + fn)): equal to 2PR/(P+R), without its rounding.
  const f1 = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  return { precision, recall, f1 };
}

/** lmprobe's evaluation-set id: sha256 over the sorted prompts and label strings, newline-joined. */
export function evalHash(prompts: string[], labels: number[], floatLabels = false): string {
  const items = [...prompts, ...labels.map((l) => (floatLabels ? pythonFloat(l) : String(l)))].sort();
  return `sha256:${createHash("sha256").update(items.join("\n")).digest("hex")}`;
}

/** Macro-averaged precision, recall and F1 over the given classes (zero_division=0), like sklearn's average="macro". */
export function macroPrecisionRecallF1(
  truth: number[],
  predicted: number[],
  classes: number[],
): { precision: number; recall: number; f1: number } {
  const labels = [...new Set([...classes, ...truth, ...predicted])].sort((a, b) => a - b);
  const per = labels.map((c) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    truth.forEach((t, i) => {
      const p = predicted[i];
      if (p === c && t === c) tp++;
      else if (p === c) fp++;
      else if (t === c) fn++;
    });
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    return { precision, recall, f1: tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn) };
  });
  const mean = (k: "precision" | "recall" | "f1") => per.reduce((s, m) => s + m[k], 0) / per.length;
  return { precision: mean("precision"), recall: mean("recall"), f1: mean("f1") };
}

/**
 * One-vs-rest macro ROC AUC (sklearn's multi_class="ovr", average="macro"); null if a class is absent from
 * the truth.
 */
export function ovrRocAuc(truth: number[], proba: number[][], classes: number[]): number | null {
  const aucs = classes.map((c, k) =>
    rocAuc(
      truth.map((t) => (t === c ? 1 : 0)),
      proba.map((row) => row[k]!),
    ),
  );
  return aucs.some((a) => a === null) ? null : aucs.reduce((sum: number, a) => sum + a!, 0) / aucs.length;
}

/** Coefficient of determination R², like sklearn's r2_score (constant truth: 1 if exact, else 0). */
export function r2Score(truth: number[], predicted: number[]): number {
  const mean = truth.reduce((s, v) => s + v, 0) / truth.length;
  let ssRes = 0;
  let ssTot = 0;
  truth.forEach((t, i) => {
    ssRes += (t - predicted[i]!) ** 2;
    ssTot += (t - mean) ** 2;
  });
  if (ssTot === 0) return ssRes === 0 ? 1 : 0; // sklearn's force_finite convention
  return 1 - ssRes / ssTot;
}

/** Mean squared and mean absolute error. */
export function regressionErrors(truth: number[], predicted: number[]): { mse: number; mae: number } {
  let se = 0;
  let ae = 0;
  truth.forEach((t, i) => {
    se += (t - predicted[i]!) ** 2;
    ae += Math.abs(t - predicted[i]!);
  });
  return { mse: se / truth.length, mae: ae / truth.length };
}

/** Python's `str(float)`: "1.0" for integral values, exponents written "1e-05". */
function pythonFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  return String(v).replace(/e([+-])(\d)$/, "e$10$2");
}
