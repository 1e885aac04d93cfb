/**
 * The `baseline_fit` / `baseline_predict` RPCs: lmprobe's baselines fitted in the worker and kept
 * there under a handle (a vectorizer's tokenisation is scikit-learn's own).
 */
import type { Tensor } from "./codec.js";
import type { ClassifierSpec } from "./fit.js";

/** The `baseline_fit` request body (text baselines send `texts`, activation baselines `X`). */
export interface BaselineFitRequest {
  method: string;
  base_method?: string;
  classifier?: ClassifierSpec;
  random_state: number | null;
  max_features?: number | null;
  ngram_range?: [number, number];
  n_components?: number;
  texts?: string[];
  X?: Tensor;
  y: number[];
}

/** The `baseline_fit` reply body. */
export interface BaselineFitReply {
  handle: string;
  classes: number[];
  has_proba: boolean;
  n_features: number;
  seconds: number;
}

/** The `baseline_predict` request body. */
export interface BaselinePredictRequest {
  handle: string;
  texts?: string[];
  X?: Tensor;
}

/** The `baseline_predict` reply: the classifier's own `predict` labels and, where it has them, probabilities. */
export interface BaselinePredictReply {
  predict: Tensor;
  proba: Tensor | null;
}
