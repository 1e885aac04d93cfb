/**
 * The monitoring metrics `evaluate` adds on request: recall at fixed false-positive rates, the
 * ROC curve, and percentile bootstrap intervals of accuracy, AUROC and recall@FPR.
 *
 * Bootstrap: `n` resamples of all evaluated rows with replacement (not stratified), from the
 * seeded generator of bootstrap.ts. A resample that lacks one of the probe's classes is skipped
 * for every metric, as scikit-learn-based evaluations do (`roc_auc_score` raises on one class):
 * `used` counts the resamples kept; the intervals are null when none was.
 */
import { InvalidInputError } from "../errors.js";
import { bootstrapIndices, percentileInterval, type Interval } from "./bootstrap.js";
import { accuracy, ovrRocAuc, rocAuc } from "./metrics.js";
import type { ResolvedMonitoring } from "./monitoring-options.js";
import { recallAtFpr, type RecallAtFpr } from "./recall-at-fpr.js";
import { rocCurve, type RocCurve } from "./roc-curve.js";

/** Bootstrap confidence intervals (`evaluate`'s `bootstrap` option). */
export interface BootstrapIntervals {
  /** Resamples drawn, their seed and the intervals' coverage. */
  n: number;
  seed: number;
  confidence: number;
  /** Resamples kept: those holding every class (the others are skipped). */
  used: number;
  accuracy: Interval | null;
  /** null also when the probe gives no probabilities. */
  auroc: Interval | null;
  /** One interval per `recallAtFpr` entry, same order (absent without `fpr`). */
  recallAtFpr?: (Interval | null)[];
}

/** What `fpr`, `roc` and `bootstrap` add to a classification evaluation. */
export interface MonitoringMetrics {
  /** Recall at each requested FPR, with its threshold (binary probes). */
  recallAtFpr?: RecallAtFpr[];
  /** scikit-learn's `roc_curve` of P(classes[1]) (binary probes). */
  roc?: RocCurve;
  bootstrap?: BootstrapIntervals;
}

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
