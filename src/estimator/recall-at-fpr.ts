/**
 * Recall at a fixed false-positive rate, read off the full ROC curve (every distinct threshold,
 * scikit-learn's `roc_curve(..., drop_intermediate=False)`): the highest TPR among the points
 * whose FPR is ≤ the target, and the highest threshold reaching it (so the smallest FPR).
 */
import type { RecallAtFpr } from "../types.js";
import { rocCurve } from "./roc-curve.js";

/** Recall at each target FPR for labels in {0, 1}; null when a class is missing. */
export function recallAtFpr(truth: number[], scores: number[], targets: readonly number[]): RecallAtFpr[] | null {
  const curve = rocCurve(truth, scores, false);
  if (!curve) return null;
  return targets.map((target) => {
    // The curve's FPR and TPR never decrease as the threshold falls: scan while FPR stays within target.
    let best = 0;
    for (let i = 1; i < curve.fpr.length && curve.fpr[i]! <= target; i++) {
      if (curve.tpr[i]! > curve.tpr[best]!) best = i;
    }
    return { fpr: target, recall: curve.tpr[best]!, threshold: curve.thresholds[best]!, actualFpr: curve.fpr[best]! };
  });
}
