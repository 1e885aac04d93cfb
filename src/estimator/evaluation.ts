/**
 * `evaluate` for every task: lmprobe's binary metrics, macro averages for multiclass, R²/MSE/MAE for regression,
 * and on request the monitoring metrics (recall@FPR, ROC, bootstrap intervals).
 */
import type { EvaluationResult } from "../types.js";
import type { Predictions } from "./inference.js";
import { monitoringMetrics } from "./monitoring.js";
import type { ResolvedMonitoring } from "./monitoring-options.js";
import {
  accuracy,
  evalHash,
  macroPrecisionRecallF1,
  ovrRocAuc,
  precisionRecallF1,
  r2Score,
  regressionErrors,
  rocAuc,
} from "./metrics.js";

/** Metrics of pooled predictions against the true labels (or values). */
export function evaluatePredictions(
  task: "classification" | "regression",
  classes: number[],
  prompts: string[],
  truth: number[],
  predictions: Predictions,
  monitoring: ResolvedMonitoring = { fpr: [], roc: false },
): EvaluationResult {
  const scores = predictions.perPrompt!;
  if (task === "regression") {
    const values = scores.values!;
    return {
      task,
      r2: r2Score(truth, values),
      ...regressionErrors(truth, values),
      nEval: prompts.length,
      evalHash: evalHash(prompts, truth, true),
    };
  }
  const predicted = scores.labels!;
  const binary = classes.length === 2;
  let auroc: number | null = null;
  if (scores.proba)
    auroc = binary
      ? rocAuc(
          truth.map((t) => (t === classes[1] ? 1 : 0)),
          scores.proba.map((r) => r[1]!),
        )
      : ovrRocAuc(truth, scores.proba, classes);
  return {
    task,
    accuracy: accuracy(truth, predicted),
    auroc,
    ...(binary ? precisionRecallF1(truth, predicted) : macroPrecisionRecallF1(truth, predicted, classes)),
    nEval: prompts.length,
    evalHash: evalHash(prompts, truth),
    ...monitoringMetrics(monitoring, classes, truth, predicted, scores.proba),
  };
}
