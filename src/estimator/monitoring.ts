/**
 * The monitoring metrics `evaluate` adds on request: recall at fixed false-positive rates, the
 * ROC curve, and percentile bootstrap intervals of accuracy, AUROC and recall@FPR.
 *
 * Bootstrap: `n` resamples of all evaluated rows with replacement (not stratified), from the
 * seeded generator of bootstrap.ts. A resample that lacks one of the probe's classes is skipped
 * for every metric, as scikit-learn-based evaluations do (`roc_auc_score` raises on one class):
 * `used` counts the resamples kept; the intervals are null when none was.
 */
import type { MonitoringMetrics } from "../types.js";
import { InvalidInputError } from "../errors.js";
import { bootstrapIndices, percentileInterval } from "./bootstrap.js";
import { accuracy, ovrRocAuc, rocAuc } from "./metrics.js";
import type { ResolvedMonitoring } from "./monitoring-options.js";
import { recallAtFpr } from "./recall-at-fpr.js";
import { rocCurve } from "./roc-curve.js";

/** The rows of a resample. */
const pick = <T>(values: readonly T[], rows: Uint32Array): T[] => Array.from(rows, (r) => values[r]!);

/**
 * Computes the requested monitoring metrics. `truth` and `predicted` are class labels, `proba`
 * the rows of class probabilities in `classes` order (absent for classifiers without them).
 */
export function monitoringMetrics(
  m: ResolvedMonitoring,
  classes: number[],
  truth: number[],
  predicted: number[],
  proba: number[][] | undefined,
): MonitoringMetrics {
  const binary = classes.length === 2;
  const positive = binary ? truth.map((t) => (t === classes[1] ? 1 : 0)) : [];
  const scores = binary && proba ? proba.map((r) => r[1]!) : [];
  const out: MonitoringMetrics = {};
  if ((m.fpr.length > 0 || m.roc) && new Set(positive).size < 2) {
    throw new InvalidInputError(
      "labels",
      `Recall at FPR and the ROC curve need both classes (${classes.join(", ")}) among the labels; ` +
        "these hold only one. Evaluate on positives and negatives together.",
    );
  }
  if (m.fpr.length > 0) out.recallAtFpr = recallAtFpr(positive, scores, m.fpr)!;
  if (m.fpr.length > 0 || m.roc) out.roc = rocCurve(positive, scores)!;
  if (!m.bootstrap) return out;
  const { n, seed, confidence } = m.bootstrap;
  const acc: number[] = [];
  const auc: number[] = [];
  const recalls: number[][] = m.fpr.map(() => []);
  for (const rows of bootstrapIndices(truth.length, n, seed)) {
    const t = pick(truth, rows);
    const present = new Set(t);
    if (!classes.every((c) => present.has(c))) continue;
    acc.push(accuracy(t, pick(predicted, rows)));
    if (!proba) continue;
    if (binary) {
      const pos = pick(positive, rows);
      const s = pick(scores, rows);
      auc.push(rocAuc(pos, s)!);
      recallAtFpr(pos, s, m.fpr)?.forEach((r, k) => recalls[k]!.push(r.recall));
    } else {
      auc.push(ovrRocAuc(t, pick(proba, rows), classes)!);
    }
  }
  out.bootstrap = {
    n,
    seed,
    confidence,
    used: acc.length,
    accuracy: percentileInterval(acc, confidence),
    auroc: percentileInterval(auc, confidence),
    ...(m.fpr.length > 0 ? { recallAtFpr: recalls.map((r) => percentileInterval(r, confidence)) } : {}),
  };
  return out;
}
