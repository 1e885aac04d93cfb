/**
 * Scoring activations with a fitted state, in TypeScript: layer scaling, preprocessing and the
 * mass-mean feature (each step rounded to float32, like numpy on float32 activations), then
 * the model's scores (float64 dot products) and its link function.
 */
import { InvalidInputError, NotSupportedError } from "../errors.js";
import type { FittedState, LinearModelState, ModelState, PreprocessingState } from "./fitted-state.js";
import { pairwiseCoupling, sigmoidPredict } from "./libsvm-proba.js";

/** What a model gives for a batch of feature rows. */
export interface RowScores {
  /** n × classes probabilities; absent when the model has none ("decision" link, regression). */
  proba?: number[][];
  /** Classification: predicted labels. */
  labels?: number[];
  /** Regression: predicted values. */
  values?: number[];
}

/** Scores an opaque (worker-held) estimator on transformed features. */
export type OpaqueScorer = (
  handle: string,
  features: Float32Array,
  rows: number,
  width: number,
) => Promise<{ proba?: number[][]; predict: number[] }>;

/** Applies scaler → preprocessing → mass-mean feature to raw rows (m × d); returns (m × width). */
export function transformRows(
  state: FittedState,
  x: Float32Array,
  m: number,
): { features: Float32Array; width: number } {
  let d = x.length / m;
  let cur = x;
  const { mean, scale } = state.scaler;
  if (mean && scale) cur = standardize(cur, m, d, mean, scale);
  const preAugment = cur;
  for (const step of state.preprocessing) ({ data: cur, width: d } = applyStep(step, cur, m, d));
  const dir = state.massMeanDirection;
  if (dir) {
    const width = d + 1;
    const out = new Float32Array(m * width);
    const pd = dir.length;
    for (let i = 0; i < m; i++) {
      out.set(cur.subarray(i * d, (i + 1) * d), i * width);
      let s = 0;
      for (let j = 0; j < pd; j++) s += preAugment[i * pd + j]! * dir[j]!;
      out[i * width + d] = s; // the projection becomes the last column
    }
    return { features: out, width };
  }
  return { features: cur, width: d };
}

function standardize(x: Float32Array, m: number, d: number, mean: Float64Array, scale: Float64Array): Float32Array {
  const out = new Float32Array(m * d);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < d; j++) out[i * d + j] = Math.fround(x[i * d + j]! - mean[j]!) / scale[j]!;
  }
  return out;
}

function applyStep(
  step: PreprocessingState,
  x: Float32Array,
  m: number,
  d: number,
): { data: Float32Array; width: number } {
  if (step.kind === "standard") return { data: standardize(x, m, d, step.mean, step.scale), width: d };
  const { k, components, mean } = step;
  const out = new Float32Array(m * k);
  const centered = new Float64Array(d);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < d; j++) centered[j] = x[i * d + j]! - mean[j]!;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += centered[j]! * components[c * d + j]!;
      out[i * k + c] = s;
    }
  }
  return { data: out, width: k };
}

function linearScores(
  model: { coef: Float64Array; intercept: Float64Array },
  f: Float32Array,
  i: number,
  width: number,
): number[] {
  const rows = model.intercept.length;
  if (model.coef.length !== rows * width) {
    throw new InvalidInputError(
      "X",
      `The activations give ${width} features per row, but the probe was fitted on ${model.coef.length / rows}.`,
    );
  }
  const scores = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const off = r * width;
    for (let j = 0; j < width; j++) s += f[i * width + j]! * model.coef[off + j]!;
    scores[r] = s + model.intercept[r]!;
  }
  return scores;
}

const expit = (s: number) => 1 / (1 + Math.exp(-s));

/** Probabilities of one row from a linear model's scores (undefined for links without them). */
function linkProba(model: LinearModelState, scores: number[]): number[] | undefined {
  switch (model.link) {
    case "logistic": {
      const p1 = expit(scores[0]!);
      return [1 - p1, p1];
    }
    case "platt": {
      const p1 = expit(model.plattA! * scores[0]! + model.plattB!);
      return [1 - p1, p1];
    }
    case "softmax": {
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      return exps.map((e) => e / total);
    }
    case "ovr": {
      const p = scores.map(expit);
      const total = p.reduce((a, b) => a + b, 0);
      return p.map((v) => v / total);
    }
    case "libsvm": {
      const k = model.classes.length;
      const pairwise = scores.map((s, p) => sigmoidPredict(s, model.probA![p]!, model.probB![p]!));
      return pairwiseCoupling(k, pairwise);
    }
    default:
      return undefined;
  }
}

/** Index of the largest value (ties: the first), like numpy's argmax. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}

/** True when the model gives class probabilities. */
export function hasProba(model: ModelState): boolean {
  if (model.kind === "opaque") return model.hasProba;
  if (model.kind === "ensemble") return true;
  return !["decision", "identity"].includes(model.link);
}

/** Rows scored per block: transformed features are held for one block only, never for all rows. */
const BLOCK_ROWS = 256;

/** Scores raw activation rows (m × d) with the fitted state. */
export async function scoreRows(
  state: FittedState,
  x: Float32Array,
  m: number,
  opaque: OpaqueScorer,
): Promise<RowScores> {
  const d = x.length / m;
  const out: Required<RowScores> = { proba: [], labels: [], values: [] };
  for (let start = 0; start < m; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, m - start);
    const block = await scoreBlock(state, x.subarray(start * d, (start + rows) * d), rows, opaque);
    if (block.proba) out.proba.push(...block.proba);
    if (block.labels) out.labels.push(...block.labels);
    if (block.values) out.values.push(...block.values);
  }
  return {
    ...(out.proba.length ? { proba: out.proba } : {}),
    ...(out.labels.length ? { labels: out.labels } : {}),
    ...(out.values.length ? { values: out.values } : {}),
  };
}

async function scoreBlock(state: FittedState, x: Float32Array, m: number, opaque: OpaqueScorer): Promise<RowScores> {
  const { features, width } = transformRows(state, x, m);
  const model = state.model;
  if (model.kind === "opaque") {
    const out = await opaque(model.handle, features, m, width);
    return state.task === "regression"
      ? { values: out.predict }
      : { ...(out.proba ? { proba: out.proba } : {}), labels: out.predict };
  }
  if (model.kind === "ensemble") {
    const proba = Array.from({ length: m }, (_, i) => {
      const rows = model.members.map((member) => linkProba(member, linearScores(member, features, i, width))!);
      return rows[0]!.map((_, c) => rows.reduce((s, r) => s + r[c]!, 0) / rows.length);
    });
    return { proba, labels: proba.map((p) => model.classes[argmax(p)]!) };
  }
  const scores = Array.from({ length: m }, (_, i) => linearScores(model, features, i, width));
  if (model.link === "identity") return { values: scores.map((s) => s[0]!) };
  if (model.link === "decision") {
    const labels = scores.map((s) => (s.length === 1 ? model.classes[s[0]! > 0 ? 1 : 0]! : model.classes[argmax(s)]!));
    return { labels };
  }
  const proba = scores.map((s) => linkProba(model, s)!);
  return { proba, labels: proba.map((p) => model.classes[argmax(p)]!) };
}

/** Per-layer importance metrics of `computeLayerImportance`. */
export type ImportanceMetric = "l2" | "l1" | "mean_abs" | "max_abs";

/**
 * Aggregates the model's coefficients per layer block (all classes' rows together). Needs
 * coefficients in activation space: no PCA step, no mass-mean column.
 */
export function layerImportance(state: FittedState, metric: ImportanceMetric, normalize: boolean): number[] {
  const model = state.model;
  if (model.kind === "opaque" || state.preprocessing.some((s) => s.kind === "pca") || state.massMeanDirection) {
    const why =
      model.kind === "opaque"
        ? `${model.estimator} has no linear coefficients`
        : "its features are not per-layer activations (PCA or massMeanAugment)";
    throw new NotSupportedError(
      "computeLayerImportance",
      `computeLayerImportance() needs a linear classifier on activation features; this probe's ${why}.`,
    );
  }
  const L = state.layers.length;
  const d = L * state.hidden;
  const rows = model.coef.length / d;
  const out = Array.from({ length: L }, (_, l) => {
    const block: number[] = [];
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < state.hidden; j++) block.push(Math.abs(model.coef[r * d + l * state.hidden + j]!));
    if (metric === "l2") return Math.sqrt(block.reduce((s, v) => s + v * v, 0));
    if (metric === "l1") return block.reduce((s, v) => s + v, 0);
    if (metric === "mean_abs") return block.reduce((s, v) => s + v, 0) / block.length;
    return Math.max(...block);
  });
  const total = out.reduce((s, v) => s + v, 0);
  return normalize && total > 0 ? out.map((v) => v / total) : out;
}
