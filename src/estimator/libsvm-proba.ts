/**
 * SVC probabilities the way LIBSVM computes them (scikit-learn's `SVC(probability=True)`): a Platt
 * sigmoid per class pair, clamped, then pairwise coupling (Wu, Lin & Weng 2004, method 2).
 */

const MIN_PROB = 1e-7;

/** P(first class of a pair) from its decision value and Platt parameters, clamped like LIBSVM. */
export function sigmoidPredict(decision: number, a: number, b: number): number {
  const fApB = decision * a + b;
  // The two forms avoid overflow of exp on either side.
  const p = fApB >= 0 ? Math.exp(-fApB) / (1 + Math.exp(-fApB)) : 1 / (1 + Math.exp(fApB));
  return Math.min(Math.max(p, MIN_PROB), 1 - MIN_PROB);
}

/**
 * Class probabilities from pairwise ones, pairs ordered (0,1), (0,2)…, (1,2)…, each giving
 * P(i | i or j). scikit-learn's LIBSVM fork couples two classes too (upstream LIBSVM returns the
 * pairwise probability directly; they differ by up to ~1e-4), so two classes are coupled here.
 */
export function pairwiseCoupling(k: number, pairwise: number[]): number[] {
  const r = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let p = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      r[i]![j] = pairwise[p]!;
      r[j]![i] = 1 - pairwise[p]!;
      p++;
    }
  }
  const Q = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const prob = new Array<number>(k).fill(1 / k);
  for (let t = 0; t < k; t++) {
    for (let j = 0; j < k; j++) {
      if (j === t) continue;
      Q[t]![t]! += r[j]![t]! * r[j]![t]!;
      Q[t]![j] = -r[j]![t]! * r[t]![j]!;
    }
  }
  const Qp = new Array<number>(k).fill(0);
  const eps = 0.005 / k;
  const maxIter = Math.max(100, k);
  for (let iter = 0; iter < maxIter; iter++) {
    let pQp = 0;
    for (let t = 0; t < k; t++) {
      Qp[t] = 0;
      for (let j = 0; j < k; j++) Qp[t]! += Q[t]![j]! * prob[j]!;
      pQp += prob[t]! * Qp[t]!;
    }
    let maxError = 0;
    for (let t = 0; t < k; t++) maxError = Math.max(maxError, Math.abs(Qp[t]! - pQp));
    if (maxError < eps) break;
    for (let t = 0; t < k; t++) {
      const diff = (-Qp[t]! + pQp) / Q[t]![t]!;
      prob[t]! += diff;
      pQp = (pQp + diff * (diff * Q[t]![t]! + 2 * Qp[t]!)) / (1 + diff) / (1 + diff);
      for (let j = 0; j < k; j++) {
        Qp[j] = (Qp[j]! + diff * Q[t]![j]!) / (1 + diff);
        prob[j]! /= 1 + diff;
      }
    }
  }
  return prob;
}
