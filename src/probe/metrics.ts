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
  for (let i = 0; i < order.length; ) {
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
      rankSum += ranks[i] as number;
    }
  });
  const nNeg = truth.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Binary precision, recall and F1 for positive label 1, with zero_division=0. */
export function precisionRecallF1(truth: number[], predicted: number[]): { precision: number; recall: number; f1: number } {
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
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** lmprobe's evaluation-set id: sha256 over the sorted prompts and label strings, newline-joined. */
export function evalHash(prompts: string[], labels: number[]): string {
  const items = [...prompts, ...labels.map(String)].sort();
  return `sha256:${createHash("sha256").update(items.join("\n")).digest("hex")}`;
}
