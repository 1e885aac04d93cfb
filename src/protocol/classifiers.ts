/**
 * The built-in classifier names: the single TypeScript list (config/ validates against it; the
 * contract test checks it equals the worker's `BUILTIN`).
 */

/** Python: `classifier` names, built with lmprobe's exact scikit-learn constructors. */
export const BUILTIN_CLASSIFIERS = [
  "logistic_regression",
  "logistic_regression_cv",
  "ridge",
  "ridge_regression",
  "svm",
  "sgd",
  "sgd_gpu",
  "mass_mean",
  "lda",
  "ensemble",
] as const;

/** A built-in classifier name. */
export type ClassifierName = (typeof BUILTIN_CLASSIFIERS)[number];
