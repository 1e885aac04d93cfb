/**
 * Checks of `new Probe(...)` options that a schema of single fields cannot express: pooling,
 * preprocessing and estimator combinations, task versus classifier, automatic layer selection.
 */
import { InvalidOptionError } from "../errors.js";
import { resolveInferencePooling, resolveTrainPooling } from "../estimator/pooling.js";
import { checkEstimatorParams, checkEstimatorPath } from "./estimator-policy.js";
import type { ResolvedProbeOptions } from "./options-schema.js";

/** Preprocessing steps, normalised: "standard" and "pca" with its component count. */
export type PreprocessingStep = { kind: "standard" } | { kind: "pca"; components: number };

/** Parses `preprocessing` (+ `pcaComponents`); throws when a "pca" step has no component count. */
export function preprocessingSteps(
  spec: string | string[] | null | undefined,
  pcaComponents: number | undefined,
): PreprocessingStep[] {
  if (spec === null || spec === undefined) return [];
  return (Array.isArray(spec) ? spec : spec.split("+")).map((step) => {
    if (step === "standard" || step === "standard_scaler") return { kind: "standard" };
    const n = step.startsWith("pca:") ? Number(step.slice(4)) : pcaComponents;
    if (n === undefined) {
      throw new InvalidOptionError(
        "pcaComponents",
        'Invalid Probe options: preprocessing "pca" needs a component count: set pcaComponents, or write "pca:N".',
      );
    }
    return { kind: "pca", components: n };
  });
}

/** Checks between options that a schema of single fields cannot express. */
export function checkCombinations(o: ResolvedProbeOptions, defaultClassifier: boolean): ResolvedProbeOptions {
  resolveTrainPooling(o.pooling, o.trainPooling);
  resolveInferencePooling(o.pooling, o.inferencePooling);
  preprocessingSteps(o.preprocessing, o.pcaComponents);
  if (typeof o.classifier === "object") {
    checkEstimatorPath(o.classifier.estimator);
    checkEstimatorParams("classifier.params", o.classifier.params);
  }
  checkEstimatorParams("classifierKwargs", o.classifierKwargs);
  if (o.task === "regression") {
    // lmprobe builds Ridge for regression when the classifier is left at its default.
    if (defaultClassifier) o.classifier = "ridge_regression";
    if (typeof o.classifier === "string" && o.classifier !== "ridge_regression") {
      throw new InvalidOptionError(
        "classifier",
        `Invalid Probe options: classifier "${o.classifier}" is a classifier; task "regression" needs ` +
          '"ridge_regression" or a scikit-learn regressor ({ estimator: "sklearn.linear_model.Ridge" }).',
      );
    }
    if (o.massMeanAugment)
      throw new InvalidOptionError(
        "massMeanAugment",
        'Invalid Probe options: massMeanAugment needs two classes; it cannot be used with task "regression".',
      );
  } else if (o.classifier === "ridge_regression") {
    throw new InvalidOptionError(
      "classifier",
      'Invalid Probe options: "ridge_regression" is a regressor: set task: "regression", ' +
        'or use "ridge" (RidgeClassifier) for classification.',
    );
  }
  const auto = o.layers === "auto" || o.layers === "fast_auto";
  if (o.autoCandidates !== undefined && !auto) {
    throw new InvalidOptionError(
      "autoCandidates",
      'Invalid Probe options: autoCandidates only applies to layers "auto" or "fast_auto".',
    );
  }
  if (o.layers === "auto" && o.autoCandidates !== undefined && o.autoCandidates.length < 2) {
    throw new InvalidOptionError(
      "autoCandidates",
      'Invalid Probe options: layers "auto" selects among candidate layers and needs at least two autoCandidates.',
    );
  }
  return o;
}
