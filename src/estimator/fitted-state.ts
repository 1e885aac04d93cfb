/**
 * The fitted state of a probe as plain arrays, exactly what the worker's `fit` returns: layer
 * scaling, preprocessing steps, the mass-mean direction and the model with its link function.
 * TypeScript keeps it (the probe survives a worker restart), scores with it, and saves it.
 */
import type { Tensor } from "../protocol/codec.js";

/** Feature scaling fitted on the training activations (lmprobe's rules). */
export interface ScalerState {
  /** "standard": sklearn StandardScaler (one layer); "per_neuron"/"per_layer": lmprobe's PerLayerScaler; "none". */
  kind: "standard" | "per_neuron" | "per_layer" | "none";
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
export type Link = "logistic" | "softmax" | "ovr" | "decision" | "identity" | "platt" | "libsvm";

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
  /** "prompt": fitted through `fit` (scaler + preprocessing apply); "activations": `fitFromActivations` (neither applies). */
  path: "prompt" | "activations";
  scaler: ScalerState;
  preprocessing: PreprocessingState[];
  massMeanDirection?: Float64Array;
  model: ModelState;
  /** Layers "auto"/"fast_auto" chose from, and their importances. */
  candidateLayers?: number[];
  layerImportances?: number[];
}

const f64 = (t: unknown): Float64Array => Float64Array.from((t as Tensor).data as Float64Array);
const labels = (v: unknown): number[] => (v as unknown[]).map(Number);

function linearFromWire(m: Record<string, unknown>): LinearModelState {
  return {
    kind: "linear",
    link: m.link as Link,
    coef: f64(m.coef),
    intercept: f64(m.intercept),
    classes: labels(m.classes),
    ...(m.platt_a !== undefined && m.platt_a !== null ? { plattA: Number(m.platt_a), plattB: Number(m.platt_b) } : {}),
    ...(m.prob_a ? { probA: f64(m.prob_a), probB: f64(m.prob_b) } : {}),
  };
}

function modelFromWire(m: Record<string, unknown>): ModelState {
  if (m.kind === "ensemble") {
    return { kind: "ensemble", members: (m.members as Record<string, unknown>[]).map(linearFromWire), classes: labels(m.classes), coef: f64(m.coef), intercept: f64(m.intercept) };
  }
  if (m.kind === "opaque") {
    return { kind: "opaque", handle: String(m.handle), estimator: String(m.estimator), classes: labels(m.classes), hasProba: Boolean(m.has_proba) };
  }
  return linearFromWire(m);
}

/** Builds the state from the worker's `fit` result (arrays are copied: frame buffers are transient). */
export function fittedStateFromWire(
  body: Record<string, unknown>,
  context: { task: FittedState["task"]; path: FittedState["path"]; layers: number[]; candidates?: number[] },
): FittedState {
  const scaler = body.scaler as Record<string, unknown>;
  const steps = (body.preprocessing as Record<string, unknown>[] | undefined) ?? [];
  const selected = body.selected as number[] | null | undefined;
  const layers = selected && context.candidates ? selected.map((i) => context.candidates![i]!) : context.layers;
  const importances = body.importances as Tensor | null | undefined;
  return {
    task: context.task,
    layers,
    hidden: Number(body.hidden),
    path: context.path,
    scaler: { kind: scaler.kind as ScalerState["kind"], ...(scaler.mean ? { mean: f64(scaler.mean), scale: f64(scaler.scale) } : {}) },
    preprocessing: steps.map((s) =>
      s.kind === "pca"
        ? { kind: "pca", mean: f64(s.mean), components: f64(s.components), k: (s.components as Tensor).shape[0]! }
        : { kind: "standard", mean: f64(s.mean), scale: f64(s.scale) },
    ),
    ...(body.mass_mean_direction ? { massMeanDirection: f64(body.mass_mean_direction) } : {}),
    model: modelFromWire(body.model as Record<string, unknown>),
    ...(context.candidates && importances ? { candidateLayers: context.candidates, layerImportances: Array.from(f64(importances)) } : {}),
  };
}

/** The class labels of a state's model (empty for regression). */
export function classesOf(state: FittedState): number[] {
  return state.model.classes;
}
