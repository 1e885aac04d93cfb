/**
 * The `fit` RPC: activations, labels and the classifier spec in the worker's snake_case, and the
 * fitted state (plain arrays) built from its reply.
 */
import type { FittedState, Link, LinearModelState, ModelState, ScalerState } from "../estimator/fitted-state.js";
import { tensor, type Tensor } from "./codec.js";
import { f64 } from "./wire-values.js";

/** A built-in classifier name, or a scikit-learn class path with constructor keywords. */
export type ClassifierSpec = string | { estimator: string; params?: Record<string, unknown> };

/** One fit, in TypeScript's terms (what {@link fitToWire} translates). */
export interface FitSpec {
  /** Features (n, layers.length, hidden), row-major. */
  x: Float32Array;
  n: number;
  layers: number[];
  hidden: number;
  y: number[];
  task: "classification" | "regression";
  classifier: ClassifierSpec;
  classifierKwargs: Record<string, unknown>;
  randomState: number | null;
  normalizeLayers: boolean | "per_neuron" | "per_layer";
  /** "prompt": lmprobe's `fit` rules; "activations": `fit_from_activations` (no scaler, no preprocessing). */
  path: "prompt" | "activations";
  preprocessing: Array<{ kind: "standard" } | { kind: "pca"; components: number }>;
  massMeanAugment: boolean;
  sampleWeight?: number[] | undefined;
  /** Layer selection among `layers` ("auto": Group Lasso of strength `alpha`; "fast_auto": top-k norms). */
  selection?: { mode: "auto"; alpha: number } | { mode: "fast_auto"; topK?: number | undefined } | undefined;
}

/** The `fit` request body. */
export interface FitRequest {
  X: Tensor;
  y: number[];
  task: FitSpec["task"];
  classifier: ClassifierSpec;
  classifier_kwargs: Record<string, unknown>;
  random_state: number | null;
  normalize_layers: FitSpec["normalizeLayers"];
  path: FitSpec["path"];
  preprocessing: Array<"standard" | "pca"> | null;
  pca_components: number | null;
  mass_mean_augment: boolean;
  sample_weight: number[] | null;
  layer_selection: { mode: "auto"; alpha: number } | { mode: "fast_auto"; top_k: number | null } | null;
}

/** A linear model as the worker exports it. */
export interface LinearModelWire {
  kind: "linear";
  link: Link;
  coef: Tensor;
  intercept: Tensor;
  classes: number[];
  platt_a?: number | null;
  platt_b?: number | null;
  prob_a?: Tensor | null;
  prob_b?: Tensor | null;
}

/** The fitted model as the worker exports it. */
export type ModelWire =
  | LinearModelWire
  | { kind: "ensemble"; members: LinearModelWire[]; classes: number[]; coef: Tensor; intercept: Tensor }
  | { kind: "opaque"; handle: string; estimator: string; classes: number[]; has_proba: boolean };

/** The `fit` reply body. */
export interface FitReply {
  n_layers: number;
  hidden: number;
  /** Indices into the candidate layers that auto/fast_auto kept (null without selection). */
  selected: number[] | null;
  importances: Tensor | null;
  scaler: { kind: ScalerState["kind"]; mean?: Tensor; scale?: Tensor };
  preprocessing?: Array<
    { kind: "standard"; mean: Tensor; scale: Tensor } | { kind: "pca"; mean: Tensor; components: Tensor }
  >;
  mass_mean_direction: Tensor | null;
  model: ModelWire;
  /** The worker's fit time. */
  seconds: number;
}

/** Builds the `fit` request body (the kwargs are copied: the user's object is never handed on). */
export function fitToWire(spec: FitSpec): FitRequest {
  const pca = spec.preprocessing.find((s) => s.kind === "pca");
  const sel = spec.selection;
  return {
    X: tensor(spec.x, [spec.n, spec.layers.length, spec.hidden]),
    y: spec.y,
    task: spec.task,
    classifier:
      typeof spec.classifier === "string"
        ? spec.classifier
        : { estimator: spec.classifier.estimator, params: spec.classifier.params ?? {} },
    classifier_kwargs: structuredClone(spec.classifierKwargs),
    random_state: spec.randomState,
    normalize_layers: spec.normalizeLayers,
    path: spec.path,
    preprocessing: spec.preprocessing.length > 0 ? spec.preprocessing.map((s) => s.kind) : null,
    pca_components: pca?.kind === "pca" ? pca.components : null,
    mass_mean_augment: spec.massMeanAugment,
    sample_weight: spec.sampleWeight ?? null,
    layer_selection:
      sel === undefined ? null : sel.mode === "auto" ? sel : { mode: "fast_auto", top_k: sel.topK ?? null },
  };
}

function linearFromWire(m: LinearModelWire): LinearModelState {
  return {
    kind: "linear",
    link: m.link,
    coef: f64(m.coef),
    intercept: f64(m.intercept),
    classes: m.classes.map(Number),
    ...(m.platt_a !== undefined && m.platt_a !== null ? { plattA: Number(m.platt_a), plattB: Number(m.platt_b) } : {}),
    ...(m.prob_a && m.prob_b ? { probA: f64(m.prob_a), probB: f64(m.prob_b) } : {}),
  };
}

function modelFromWire(m: ModelWire): ModelState {
  if (m.kind === "ensemble") {
    const { members, classes, coef, intercept } = m;
    return {
      kind: "ensemble",
      members: members.map(linearFromWire),
      classes: classes.map(Number),
      coef: f64(coef),
      intercept: f64(intercept),
    };
  }
  if (m.kind === "opaque") {
    return {
      kind: "opaque",
      handle: String(m.handle),
      estimator: String(m.estimator),
      classes: m.classes.map(Number),
      hasProba: Boolean(m.has_proba),
    };
  }
  return linearFromWire(m);
}

/** What the reply alone does not say: the task, the path and the layers the features came from. */
export interface FitContext {
  task: FittedState["task"];
  path: FittedState["path"];
  layers: number[];
  /** auto/fast_auto: the candidates `selected` indexes into. */
  candidates?: number[];
}

/** Builds the fitted state from the worker's `fit` reply (arrays are copied). */
export function fittedStateFromWire(body: FitReply, context: FitContext): FittedState {
  const { scaler, selected, importances } = body;
  const candidates = context.candidates;
  const layers = selected && candidates ? selected.map((i) => candidates[i]!) : context.layers;
  return {
    task: context.task,
    layers,
    hidden: Number(body.hidden),
    path: context.path,
    scaler: {
      kind: scaler.kind,
      ...(scaler.mean && scaler.scale ? { mean: f64(scaler.mean), scale: f64(scaler.scale) } : {}),
    },
    preprocessing: (body.preprocessing ?? []).map((s) =>
      s.kind === "pca"
        ? { kind: "pca", mean: f64(s.mean), components: f64(s.components), k: s.components.shape[0]! }
        : { kind: "standard", mean: f64(s.mean), scale: f64(s.scale) },
    ),
    ...(body.mass_mean_direction ? { massMeanDirection: f64(body.mass_mean_direction) } : {}),
    model: modelFromWire(body.model),
    ...(candidates && importances
      ? { candidateLayers: candidates, layerImportances: Array.from(f64(importances)) }
      : {}),
  };
}
