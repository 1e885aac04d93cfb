/**
 * Layer sweeps: one single-layer probe per layer, all trained from ONE extraction of every swept
 * layer (one forward pass per batch, never one per layer), and scored the same way.
 */
import { resolveInferencePooling, resolveTrainPooling, type VectorPooling } from "../estimator/pooling.js";
import type { LayerSpec, ProbeOptions } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";
import type { CallOptions } from "../types.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import type { Activations } from "../extraction/activation-source.js";
import { runFit } from "./fit.js";
import { checkSampleWeight, expandTokens } from "../estimator/training-data.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { predictPrompts, type Predictions } from "../estimator/inference.js";
import { accuracy, r2Score } from "../estimator/metrics.js";
import { Probe } from "./probe.js";
import type { PredictOptions } from "./probe-types.js";
import { scoreRows } from "../estimator/scoring.js";
import { checkLabels, checkPrompts, trainingData, type TrainingData } from "../estimator/training-data.js";

/** Arguments of `Probe.sweepLayers`: probe options plus the training data. */
export interface SweepArgs extends Omit<ProbeOptions, "layers">, CallOptions {
  /** Layers to sweep: indices or a named set. @default "all" */
  layers?: Exclude<LayerSpec, "auto" | "fast_auto">;
  /** Contrastive: positive prompts; labelled: all prompts. */
  positivePrompts: string[];
  /** Contrastive: negative prompts; labelled: one label per prompt. */
  negativePrompts: string[] | number[];
  /** One weight per training prompt. */
  sampleWeight?: number[];
  /** Prompts per forward pass for this call. */
  batchSize?: number;
}

/** One layer's slice of a multi-layer extraction. */
function sliceLayer(acts: Activations, li: number, count: number): Activations {
  const h = acts.hidden;
  const take = (src: Float32Array) => {
    const rows = src.length / (count * h);
    const out = new Float32Array(rows * h);
    for (let r = 0; r < rows; r++) out.set(src.subarray((r * count + li) * h, (r * count + li + 1) * h), r * h);
    return out;
  };
  return { ...acts, data: take(acts.data), ...(acts.sequences ? { sequences: acts.sequences.map(take) } : {}) };
}

/** Per-layer probes of a sweep (lmprobe's `LayerSweepResult`). */
export class LayerSweepResult implements AsyncDisposable {
  /** The probe of each swept layer. */
  readonly probes: ReadonlyMap<number, Probe>;
  private readonly ownedRuntime: PythonRuntime | undefined;

  /** @internal */
  constructor(probes: Map<number, Probe>, ownedRuntime?: PythonRuntime) {
    this.probes = probes;
    this.ownedRuntime = ownedRuntime;
  }

  /** Swept layers, ascending. */
  get layers(): number[] {
    return [...this.probes.keys()].sort((a, b) => a - b);
  }

  /** Number of swept layers. */
  get size(): number {
    return this.probes.size;
  }

  /** The probe of one layer. */
  get(layer: number): Probe {
    const probe = this.probes.get(layer);
    if (!probe) throw new InvalidOptionError("layer", `Layer ${layer} was not swept; swept layers: ${this.layers.join(", ")}.`);
    return probe;
  }

  /** Predictions of every layer's probe, from one extraction of all layers. */
  async predictionsByLayer(prompts: string[], options: PredictOptions = {}, pooled = false): Promise<Map<number, Predictions>> {
    const layers = this.layers;
    const first = this.get(layers[0]!);
    const list = checkPrompts(prompts);
    let how = resolveInferencePooling(first.options.pooling, first.options.inferencePooling);
    if (pooled && how.stage === "all") how = { stage: "activation", reduction: "last_token" };
    const extracted = new Map<string, Promise<Activations>>();
    const all = (mode: VectorPooling | "sequence") => {
      if (!extracted.has(mode)) extracted.set(mode, first.extractFor(list, layers, mode, options));
      return extracted.get(mode)!;
    };
    const out = new Map<number, Predictions>();
    for (const [li, layer] of layers.entries()) {
      const probe = this.get(layer);
      out.set(layer, await predictPrompts(probe.fittedState as FittedState, how, async (mode) => sliceLayer(await all(mode), li, layers.length), () => Promise.reject(new Error("opaque estimators are not swept"))));
    }
    return out;
  }

  /** Accuracy (R² for regression) of each layer's probe. Python: `LayerSweepResult.score`. */
  async score(prompts: string[], labels: number[], options: PredictOptions = {}): Promise<Record<number, number>> {
    const task = this.get(this.layers[0]!).options.task;
    const truth = checkLabels(labels, checkPrompts(prompts).length, "labels", task);
    const scores: Record<number, number> = {};
    for (const [layer, p] of await this.predictionsByLayer(prompts, options, true)) {
      scores[layer] = task === "regression" ? r2Score(truth, p.perPrompt!.values!) : accuracy(truth, p.perPrompt!.labels!);
    }
    return scores;
  }

  /** The layer with the best score (ties: the lowest layer). Python: `best_layer`. */
  async bestLayer(prompts: string[], labels: number[], options: PredictOptions = {}): Promise<number> {
    const scores = await this.score(prompts, labels, options);
    return this.layers.reduce((best, l) => (scores[l]! > scores[best]! ? l : best), this.layers[0]!);
  }

  /** Each layer's predictions. Python: `predict`. */
  async predict(prompts: string[], options: PredictOptions = {}): Promise<Record<number, number[]>> {
    const out: Record<number, number[]> = {};
    for (const [layer, p] of await this.predictionsByLayer(prompts, options, true)) out[layer] = p.perPrompt!.labels ?? p.perPrompt!.values!;
    return out;
  }

  /** Each layer's class probabilities. Python: `predict_proba`. */
  async predictProba(prompts: string[], options: PredictOptions = {}): Promise<Record<number, number[][]>> {
    const out: Record<number, number[][]> = {};
    for (const [layer, p] of await this.predictionsByLayer(prompts, options, true)) out[layer] = p.perPrompt!.proba!;
    return out;
  }

  /** Closes the worker the sweep started (a shared `runtime` stays open). */
  async close(): Promise<void> {
    for (const probe of this.probes.values()) await probe.close(); // closes their caches; the runtime is shared
    await this.ownedRuntime?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Trains one probe per layer on `base`'s options from one extraction of all `layers`. */
async function fitPerLayer(base: Probe, layers: number[], data: TrainingData, weights: number[] | undefined, call: PredictOptions): Promise<{ probes: Map<number, Probe>; trainScores: Map<number, [number, number]> }> {
  const pooling = resolveTrainPooling(base.options.pooling, base.options.trainPooling);
  base.runtime.prewarm(call.onProgress);
  const acts = await base.extractFor(data.prompts, layers, pooling === "all" ? "sequence" : pooling, call);
  const probes = new Map<number, Probe>();
  const trainScores = new Map<number, [number, number]>();
  for (const [li, layer] of layers.entries()) {
    const one = sliceLayer(acts, li, layers.length);
    const job = pooling === "all" ? expandTokens(one.sequences!, one.hidden, data.labels, weights) : { x: one.data, n: one.n, y: data.labels, weights };
    const { state } = await runFit(base.runtime, base.options, { x: job.x, n: job.n, layers: [layer], hidden: one.hidden, y: job.y, sampleWeight: job.weights, path: "prompt" }, call);
    const probe = new Probe({ ...(base.options as ProbeOptions), layers: layer, runtime: base.runtime });
    probe.adopt(state);
    probes.set(layer, probe);
    trainScores.set(layer, await trainingScore(state, job.x, job.n, job.y));
  }
  return { probes, trainScores };
}

/** Training accuracy (R²) and log-loss, to rank layers before any held-out data is seen. */
async function trainingScore(state: FittedState, x: Float32Array, n: number, y: number[]): Promise<[number, number]> {
  if (state.model.kind === "opaque") return [0, 0];
  const s = await scoreRows(state, x, n, () => Promise.reject(new Error("unreachable")));
  if (s.values) return [r2Score(y, s.values), 0];
  const classes = state.model.classes;
  const logLoss = s.proba ? -s.proba.reduce((acc, row, i) => acc + Math.log(Math.max(row[classes.indexOf(y[i]!)]!, 1e-15)), 0) / n : 0;
  return [accuracy(y, s.labels!), logLoss];
}

/**
 * `fit` with `layers: "sweep…"`: trains every layer, keeps them in `probe.sweepResult`, and makes
 * the probe use the best layer by training accuracy (ties: lower training log-loss, then the
 * lowest layer) — lmprobe keeps the first layer until `evaluate`. `evaluate` then moves to the
 * best held-out layer.
 */
export async function sweepFit(probe: Probe, layers: number[], data: TrainingData, weights: number[] | undefined, call: PredictOptions): Promise<void> {
  if (typeof probe.options.classifier !== "string") {
    throw new InvalidOptionError("classifier", "Invalid Probe options: layer sweeps need a built-in classifier (custom estimators are not swept).");
  }
  const { probes, trainScores } = await fitPerLayer(probe, layers, data, weights, call);
  const rank = (l: number) => trainScores.get(l)!;
  const best = layers.reduce((b, l) => (rank(l)[0] > rank(b)[0] || (rank(l)[0] === rank(b)[0] && rank(l)[1] < rank(b)[1]) ? l : b), layers[0]!);
  probe.sweepResult = new LayerSweepResult(probes);
  probe.adopt(probes.get(best)!.fittedState as FittedState);
}

/** `Probe.sweepLayers`: trains one probe per layer and returns them. */
export async function sweepLayers(args: SweepArgs): Promise<LayerSweepResult> {
  const { positivePrompts, negativePrompts, sampleWeight, batchSize, signal, onProgress, layers, ...options } = args;
  const ownsRuntime = options.runtime === undefined;
  const runtime = options.runtime ?? new PythonRuntime();
  const base = new Probe({ ...options, layers: layers ?? "all", runtime });
  try {
    const data = trainingData(positivePrompts, negativePrompts, base.options.task);
    const weights = checkSampleWeight(sampleWeight, data.prompts.length);
    const plan = await base.plan({});
    const list = "candidates" in plan ? plan.candidates : plan.layers;
    const call = { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}), ...(batchSize ? { batchSize } : {}) };
    const { probes } = await fitPerLayer(base, list, data, weights, call);
    return new LayerSweepResult(probes, ownsRuntime ? runtime : undefined);
  } catch (err) {
    if (ownsRuntime) await runtime.close();
    throw err;
  } finally {
    await base.close(); // its cache handle; the runtime belongs to the result
  }
}
