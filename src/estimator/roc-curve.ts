/**
 * The ROC curve exactly as scikit-learn's `roc_curve(y_true, y_score)` computes it (sklearn ≥ 1.3,
 * `drop_intermediate=True` by default): one point per distinct score, highest first, after a
 * first point (0, 0) at threshold +Infinity; tied scores form one point; collinear intermediate
 * points are dropped. Predicting positive means `score >= threshold`.
 */
import type { RocCurve } from "../types.js";

/** Cumulative false and true positive counts at each distinct score (sklearn's `_binary_clf_curve`). */
export function binaryClfCurve(
  truth: number[],
  scores: number[],
): { fps: number[]; tps: number[]; thresholds: number[] } {
  // Descending by score; the order inside a tie does not matter, only tie groups' ends are kept.
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (truth[i] === 1) tp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      tps.push(tp);
      fps.push(k + 1 - tp);
      thresholds.push(scores[i]!);
    }
  }
  return { fps, tps, thresholds };
}

/**
 * scikit-learn's `roc_curve` for labels in {0, 1} (1 = positive) and scores. `dropIntermediate`
 * removes points on a straight line between their neighbours, as sklearn does by default.
 * Returns null when either class is missing (sklearn then warns and returns NaN rates).
 */
export function rocCurve(truth: number[], scores: number[], dropIntermediate = true): RocCurve | null {
  let { fps, tps, thresholds } = binaryClfCurve(truth, scores);
  if (dropIntermediate && fps.length > 2) {
    // Keep the ends and every point where the second difference of fps or tps is non-zero.
    const keep = fps.map(
      (_, i) =>
        i === 0 ||
        i === fps.length - 1 ||
        fps[i + 1]! - 2 * fps[i]! + fps[i - 1]! !== 0 ||
        tps[i + 1]! - 2 * tps[i]! + tps[i - 1]! !== 0,
    );
    fps = fps.filter((_, i) => keep[i]);
    tps = tps.filter((_, i) => keep[i]);
    thresholds = thresholds.filter((_, i) => keep[i]);
  }
  const negatives = fps[fps.length - 1] ?? 0;
  const positives = tps[tps.length - 1] ?? 0;
  if (negatives === 0 || positives === 0) return null;
  return {
    fpr: [0, ...fps.map((f) => f / negatives)],
    tpr: [0, ...tps.map((t) => t / positives)],
    thresholds: [Infinity, ...thresholds],
  };
}
