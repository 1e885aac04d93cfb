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

/** What a baseline fit sends, in the SDK's names (`texts` for text baselines, `X` for activation ones). */
export interface BaselineFitSpec {
  method: string;
  randomState: number | null;
  y: number[];
  classifier?: ClassifierSpec;
  baseMethod?: string;
  maxFeatures?: number | null;
  ngramRange?: readonly [number, number];
  nComponents?: number;
  texts?: string[];
  X?: Tensor;
}

/** A fitted baseline as the worker keeps it. */
export interface BaselineFitted {
  handle: string;
  classes: number[];
  hasProba: boolean;
  seconds: number;
}

/** The `baseline_fit` request body. */
export function baselineFitRequest(spec: BaselineFitSpec): BaselineFitRequest {
  return {
    method: spec.method,
    random_state: spec.randomState,
    y: spec.y,
    ...(spec.classifier !== undefined ? { classifier: spec.classifier } : {}),
    ...(spec.baseMethod !== undefined ? { base_method: spec.baseMethod } : {}),
    ...(spec.maxFeatures !== undefined ? { max_features: spec.maxFeatures } : {}),
    ...(spec.ngramRange !== undefined ? { ngram_range: [spec.ngramRange[0], spec.ngramRange[1]] } : {}),
    ...(spec.nComponents !== undefined ? { n_components: spec.nComponents } : {}),
    ...(spec.texts !== undefined ? { texts: spec.texts } : {}),
    ...(spec.X !== undefined ? { X: spec.X } : {}),
  };
}

/** The `baseline_fit` reply in the SDK's names. */
export function baselineFittedFromWire(reply: BaselineFitReply): BaselineFitted {
  return {
    handle: reply.handle,
    classes: reply.classes.map(Number),
    hasProba: reply.has_proba,
    seconds: Number(reply.seconds),
  };
}
