/**
 * The fitted state of a probe as plain arrays (what the worker's fit returns), and scoring of
 * activations with it in TypeScript: scaling, then a linear model and its link function.
 */
import type { Tensor } from "../protocol/codec.js";

/** Feature scaling fitted on the training activations. */
export interface ScalerState {
  /** "standard": sklearn StandardScaler (one layer); "per_neuron"/"per_layer": lmprobe's PerLayerScaler; "none". */
  kind: "standard" | "per_neuron" | "per_layer" | "none";
  /** Per-feature mean (absent for "none"). */
  mean?: Float64Array | Float32Array;
  /** Per-feature scale (absent for "none"). */
  scale?: Float64Array | Float32Array;
}

/** A linear classifier: scores = X · coefᵀ + intercept, mapped to probabilities by `link`. */
export interface LinearModelState {
  kind: "linear";
  /** "logistic" (binary, one row of coef) or "softmax" (one row per class). */
  link: "logistic" | "softmax";
  /** Row-major (rows × features). */
  coef: Float64Array;
  intercept: Float64Array;
  classes: number[];
}

/** Everything needed to score new activations. */
export interface FittedState {
  layers: number[];
  hidden: number;
  scaler: ScalerState;
  model: LinearModelState;
}

/** Builds the state from the worker's `fit` result. */
export function fittedStateFromWire(body: Record<string, unknown>, layers: number[]): FittedState {
  const scaler = body.scaler as { kind: ScalerState["kind"]; mean?: Tensor; scale?: Tensor };
  const model = body.model as { link: "logistic" | "softmax"; coef: Tensor; intercept: Tensor; classes: number[] };
  const copy = <T extends Float64Array | Float32Array>(t: Tensor | undefined): T | undefined =>
    t ? ((t.data as T).slice() as T) : undefined; // own the memory: the frame buffers are transient
  return {
    layers,
    hidden: Number(body.hidden),
    scaler: {
      kind: scaler.kind,
      ...(scaler.mean ? { mean: copy(scaler.mean) } : {}),
      ...(scaler.scale ? { scale: copy(scaler.scale) } : {}),
    },
    model: {
      kind: "linear",
      link: model.link,
      coef: Float64Array.from(model.coef.data as Float64Array),
      intercept: Float64Array.from(model.intercept.data as Float64Array),
      classes: model.classes.map(Number),
    },
  };
}

/**
 * Class probabilities (n × classes) for activations (n × features, row-major float32).
 * Scaling reproduces sklearn's float32 arithmetic (each step rounded to float32) so that results
 * match lmprobe's to the last bits that matter; the dot product runs in float64 as in numpy.
 */
export function predictProba(state: FittedState, x: Float32Array, n: number): number[][] {
  const d = x.length / n;
  const { mean, scale } = state.scaler;
  const { coef, intercept, link } = state.model;
  const rows = intercept.length;
  const scaled = new Float64Array(d);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) {
      const v = x[base + j] as number;
      scaled[j] = mean && scale ? Math.fround(Math.fround(v - (mean[j] as number)) / (scale[j] as number)) : v;
    }
    const scores = new Array<number>(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const off = r * d;
      for (let j = 0; j < d; j++) s += (scaled[j] as number) * (coef[off + j] as number);
      scores[r] = s + (intercept[r] as number);
    }
    if (link === "logistic") {
      const p1 = 1 / (1 + Math.exp(-(scores[0] as number)));
      out.push([1 - p1, p1]);
    } else {
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      out.push(exps.map((e) => e / total));
    }
  }
  return out;
}

/** Labels from probabilities: the class of the highest probability (ties: the first class). */
export function labelsFromProba(state: FittedState, proba: number[][]): number[] {
  return proba.map((row) => {
    let best = 0;
    for (let k = 1; k < row.length; k++) if ((row[k] as number) > (row[best] as number)) best = k;
    return state.model.classes[best] as number;
  });
}
