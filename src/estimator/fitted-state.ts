/**
 * The fitted state of a probe in plain arrays, exactly what the worker's `fit` returns: layer
 * scaling, preprocessing steps, the mass-mean direction and the model with its link function.
 * TypeScript keeps it (the probe survives a worker restart), scores with it, and saves it.
 */
/** Feature scaling fitted on the training activations (lmprobe's rules). */
export interface ScalerState {
  /** "standard": sklearn StandardScaler (one layer); "per_neuron"/"per_layer": lmprobe's PerLayerScaler; "none". */
  kind: (typeof SCALER_KINDS)[number];
  /** Per-feature mean (absent for "none"). */
  mean?: Float64Array;
  /** Per-feature scale (absent for "none"). */
  scale?: Float64Array;
}

/** One fitted `preprocessing` step. */
export type PreprocessingState =
  | { kind: "standard"; mean: Float64Array; scale: Float64Array }
  /** PCA: (x − mean) · componentsᵀ, components row-major (k × features). */
  | { kind: "pca"; mean: Float64Array; components: Float64Array; k: number };

/**
 * How a linear model's scores become an output:
 * "logistic" binary sigmoid; "softmax"; "ovr" sigmoid per class, normalised; "decision" labels
 * only (no probabilities); "identity" regression values; "platt" sigmoid of a calibrated score
 * (mass-mean); "libsvm" SVC's pairwise Platt probabilities.
 */
export type Link = (typeof LINKS)[number];

/** Every {@link Link}. */
export const LINKS = ["logistic", "softmax", "ovr", "decision", "identity", "platt", "libsvm"] as const;

/** Every {@link ScalerState} kind. */
export const SCALER_KINDS = ["standard", "per_neuron", "per_layer", "none"] as const;

/** A linear model: scores = x · coefᵀ + intercept, mapped by `link`. */
export interface LinearModelState {
  kind: "linear";
  link: Link;
  /** Row-major (rows × features). */
  coef: Float64Array;
  intercept: Float64Array;
  /** Class labels (empty for regression). */
  classes: number[];
  /** "platt": p₁ = σ(plattA · score + plattB). */
  plattA?: number;
  plattB?: number;
  /** "libsvm": per-pair sigmoid parameters. */
  probA?: Float64Array;
  probB?: Float64Array;
}

/** An average of linear models' probabilities (lmprobe's "ensemble"); coef/intercept are their means. */
export interface EnsembleModelState {
  kind: "ensemble";
  members: LinearModelState[];
  classes: number[];
  coef: Float64Array;
  intercept: Float64Array;
}

/** A scikit-learn estimator without an array form, living in the worker that fitted it. */
export interface OpaqueModelState {
  kind: "opaque";
  handle: string;
  estimator: string;
  classes: number[];
  hasProba: boolean;
}

/** The fitted model. */
export type ModelState = LinearModelState | EnsembleModelState | OpaqueModelState;

/** Everything needed to score new activations. */
export interface FittedState {
  task: "classification" | "regression";
  /** Decoder blocks the features come from, ascending. */
  layers: number[];
  hidden: number;
  /**
   * "prompt": fitted through `fit` (scaler + preprocessing apply); "activations": `fitFromActivations`
   * (neither applies).
   */
  path: "prompt" | "activations";
  scaler: ScalerState;
  preprocessing: PreprocessingState[];
  massMeanDirection?: Float64Array;
  model: ModelState;
  /** Layers "auto"/"fast_auto" chose from, and their importances. */
  candidateLayers?: number[];
  layerImportances?: number[];
  /**
   * Binary probes: the decision threshold on P(classes[1]) set by `calibrate` or `probe.threshold`;
   * labels are then classes[1] where P(classes[1]) ≥ threshold instead of the argmax. A new fit clears it.
   */
  threshold?: number;
}

/** The class labels of a state's model (empty for regression). */
export function classesOf(state: FittedState): number[] {
  return state.model.classes;
}
