/** The table a {@link BaselineBattery} run returns: one row per baseline, plain JSON-able data. */
import type { BaselineMethod } from "./baseline-options.js";

/** One baseline's result on the test set. */
export interface BaselineRow {
  /** The baseline (lmprobe's registry name). */
  name: BaselineMethod;
  /** "text" baselines see only the prompts; "activation" baselines read the model's activations. */
  kind: "text" | "activation";
  /** The battery's scorer on the test set: accuracy unless a `scorer` was given. Python: `BaselineResult.score`. */
  score: number;
  /** Accuracy on the test set (equals `score` with the default scorer). */
  accuracy: number;
  /** ROC AUC of P(class 1) on the test set (not in lmprobe); null without probabilities or with one test class. */
  auroc: number | null;
  /** Wall time of the fit (extraction included). Python: `fit_time`. @unit seconds */
  fitSeconds: number;
  /** Wall time of the test prediction. Python: `predict_time`. @unit seconds */
  predictSeconds: number;
}

/** A baseline the battery could not run, and why (lmprobe warns and leaves it out). */
export interface SkippedBaseline {
  name: BaselineMethod;
  /** The error's code (`LmprobeError.code`) where it has one. */
  code?: string;
  message: string;
}

/**
 * The result of `BaselineBattery.run`: rows in lmprobe's registry order (bow, tfidf, random,
 * majority, sentence_length, shuffled_labels, random_direction, pca, layer_0), ready for a report
 * to show beside the probe. Python: `BaselineResults`.
 */
export interface BaselineTable {
  /** What `score` is: "accuracy" (lmprobe's default scorer) or "custom". */
  metric: "accuracy" | "custom";
  rows: BaselineRow[];
  skipped: SkippedBaseline[];
  /** Test prompts scored (the training prompts when the run had no test set). */
  nTest: number;
}

/** The `n` best rows by score, highest first (ties keep table order). Python: `BaselineResults.get_best`. */
export function bestBaselines(table: BaselineTable, n = 1): BaselineRow[] {
  return [...table.rows].sort((a, b) => b.score - a.score).slice(0, n);
}
