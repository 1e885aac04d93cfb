/**
 * Layer sweeps: one single-layer probe per layer, all trained from ONE extraction of every swept
 * layer (one forward pass per batch, never one per layer), and scored the same way. Sweeps make
 * their probes through a factory (Probe passes its own), so this module never imports Probe.
 */
import { tokenRoles, type Prompt } from "../chat/chat-input.js";
import type { LayerSpec, ProbeOptions } from "../config/probe-options.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { predictPrompts, type Predictions } from "../estimator/inference.js";
import { accuracy, r2Score } from "../estimator/metrics.js";
import { resolveInferencePooling, resolveTrainPooling, type VectorPooling } from "../estimator/pooling.js";
import { scoreRows } from "../estimator/scoring.js";
import type { ActivationBlock } from "../estimator/sequence-pooling.js";
import {
  checkLabels,
  checkSampleWeight,
  expandTokens,
  trainingData,
  type TrainingData,
} from "../estimator/training-data.js";
import { InvalidOptionError, NotSupportedError } from "../errors.js";
import type { CallOptions, EvaluationResult } from "../types.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import type { ProbeCore } from "./core.js";
import { runFit, type FitJob } from "./fit.js";
import type { EvaluateOptions, PredictOptions } from "./probe-types.js";
import { evaluateLayers } from "./sweep-evaluate.js";

/** Arguments of `Probe.sweepLayers`: probe options plus the training data. */
export interface SweepArgs extends Omit<ProbeOptions, "layers">, CallOptions {
  /** Layers to sweep: indices or a named set. @default "all" */
  layers?: Exclude<LayerSpec, "auto" | "fast_auto">;
  /** Contrastive: positive prompts; labelled: all prompts. */
  positivePrompts: Prompt[];
  /** Contrastive: negative prompts; labelled: one label per prompt. */
  negativePrompts: Prompt[] | number[];
  /** One weight per training prompt. */
  sampleWeight?: number[];
  /** Prompts per forward pass for this call. */
  batchSize?: number;
}

/** What a sweep needs of its probes: closing them (everything else goes through their cores). */
export interface SweepMember {
  close(): Promise<void>;
}

/** A new probe and its core. */
export interface MadeProbe<P> {
  probe: P;
  core: ProbeCore;
}

/** Makes a probe from options (Probe's own constructor, handing out the core). */
export type ProbeFactory<P> = (options: ProbeOptions) => MadeProbe<P>;

/** One layer's slice of a multi-layer extraction. */
function sliceLayer<A extends ActivationBlock>(acts: A, li: number, count: number): A {
  const h = acts.hidden;
  const take = (src: Float32Array) => {
    const rows = src.length / (count * h);
    const out = new Float32Array(rows * h);
    for (let r = 0; r < rows; r++) out.set(src.subarray((r * count + li) * h, (r * count + li + 1) * h), r * h);
    return out;
  };
  return { ...acts, data: take(acts.data), ...(acts.sequences ? { sequences: acts.sequences.map(take) } : {}) };
}

const noOpaque = (): never => {
  throw new NotSupportedError("sweep", "Layer sweeps need a built-in classifier: custom estimators are not swept.");
};

/** Per-layer probes of a sweep (lmprobe's `LayerSweepResult`). */
export class LayerSweepResult<P extends SweepMember = SweepMember> implements AsyncDisposable {
  readonly #members: Map<number, MadeProbe<P>>;
  readonly #ownedRuntime: PythonRuntime | undefined;

  /** @internal */
  constructor(members: Map<number, MadeProbe<P>>, ownedRuntime?: PythonRuntime) {
    this.#members = members;
    this.#ownedRuntime = ownedRuntime;
  }

  /** The probe of each swept layer. */
  get probes(): ReadonlyMap<number, P> {
    return new Map([...this.#members].map(([layer, m]) => [layer, m.probe]));
  }

  /** Swept layers, ascending. */
  get layers(): number[] {
    return [...this.#members.keys()].sort((a, b) => a - b);
  }

  /** Number of swept layers. */
  get size(): number {
    return this.#members.size;
  }

  /** The probe of one layer. */
  get(layer: number): P {
    return this.member(layer).probe;
  }

  /** Predictions of every layer's probe, from one extraction of all layers. */
  async predictionsByLayer(
    prompts: Prompt[],
    options: PredictOptions = {},
    pooled = false,
  ): Promise<Map<number, Predictions>> {
    const layers = this.layers;
    const first = this.member(layers[0]!).core;
    const list = first.prompts(prompts);
    let how = resolveInferencePooling(first.options.pooling, first.options.inferencePooling);
    if (pooled && how.stage === "all") how = { stage: "activation", reduction: "last_token" };
    const extracted = new Map<string, Promise<ActivationBlock>>();
    const all = (mode: VectorPooling | "sequence"): Promise<ActivationBlock> => {
      const known = extracted.get(mode);
      if (known) return known;
      const pending = first.session.extract(list, layers, mode, options);
      extracted.set(mode, pending);
      return pending;
    };
    const out = new Map<number, Predictions>();
    for (const [li, layer] of layers.entries()) {
      const state = this.member(layer).core.fitted("predict");
      out.set(
        layer,
        await predictPrompts(state, how, async (mode) => sliceLayer(await all(mode), li, layers.length), noOpaque),
      );
    }
    return out;
  }

  /** Accuracy (R² for regression) of each layer's probe. Python: `LayerSweepResult.score`. */
  async score(prompts: Prompt[], labels: number[], options: PredictOptions = {}): Promise<Record<number, number>> {
    const task = this.member(this.layers[0]!).core.options.task;
    const truth = checkLabels(labels, this.member(this.layers[0]!).core.prompts(prompts).length, "labels", task);
    const scores: Record<number, number> = {};
    for (const [layer, p] of await this.predictionsByLayer(prompts, options, true)) {
      const s = p.perPrompt ?? {};
      scores[layer] = task === "regression" ? r2Score(truth, s.values ?? []) : accuracy(truth, s.labels ?? []);
    }
    return scores;
  }

  /**
   * `evaluate`'s metrics (accuracy, AUROC...; R², MSE... for regression) of every layer, keyed by
   * layer; `fpr`, `roc` and `bootstrap` add the monitoring metrics as in `Probe.evaluate`.
   */
  evaluate(prompts: Prompt[], labels: number[], options: EvaluateOptions = {}): Promise<Map<number, EvaluationResult>> {
    return evaluateLayers(this, prompts, labels, options);
  }

  /** The layer with the best score (ties: the lowest layer). Python: `best_layer`. */
  async bestLayer(prompts: Prompt[], labels: number[], options: PredictOptions = {}): Promise<number> {
    return bestOf(this.layers, await this.score(prompts, labels, options));
  }

  /** Each layer's predictions. Python: `predict`. */
  async predict(prompts: Prompt[], options: PredictOptions = {}): Promise<Record<number, number[]>> {
    const out: Record<number, number[]> = {};
    for (const [layer, p] of await this.predictionsByLayer(prompts, options, true))
      out[layer] = p.perPrompt?.labels ?? p.perPrompt?.values ?? [];
    return out;
  }

  /** Each layer's class probabilities. Python: `predict_proba`. */
  async predictProba(prompts: Prompt[], options: PredictOptions = {}): Promise<Record<number, number[][]>> {
    const out: Record<number, number[][]> = {};
    for (const [layer, p] of await this.predictionsByLayer(prompts, options, true))
      out[layer] = p.perPrompt?.proba ?? [];
    return out;
  }

  /** Closes the worker the sweep started (a shared `runtime` stays open). */
  async close(): Promise<void> {
    for (const { probe } of this.#members.values()) await probe.close(); // closes their caches; the runtime is shared
    await this.#ownedRuntime?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal The fitted state of one layer's probe. */
  stateOf(layer: number): FittedState {
    return this.member(layer).core.fitted("sweep");
  }

  private member(layer: number): MadeProbe<P> {
    const m = this.#members.get(layer);
    if (!m)
      throw new InvalidOptionError("layer", `Layer ${layer} was not swept; swept layers: ${this.layers.join(", ")}.`);
    return m;
  }
}

/** The layer with the highest score (ties: the first of `layers`). */
export function bestOf(layers: number[], scores: Record<number, number>): number {
  return layers.reduce((best, l) => ((scores[l] ?? -Infinity) > (scores[best] ?? -Infinity) ? l : best), layers[0]!);
}

/** Trains one probe per layer on `base`'s options from one extraction of all `layers`. */
async function fitPerLayer<P>(
  base: ProbeCore,
  layers: number[],
  data: TrainingData,
  weights: number[] | undefined,
  call: PredictOptions,
  factory: ProbeFactory<P>,
): Promise<{ members: Map<number, MadeProbe<P>>; trainScores: Map<number, [number, number]> }> {
  const pooling = resolveTrainPooling(base.options.pooling, base.options.trainPooling);
  await base.session.chatSource(data.prompts, call); // no chat template: refused before the worker starts
  base.runtime.prewarm(call.onProgress);
  const acts = await base.session.extract(data.prompts, layers, pooling === "all" ? "sequence" : pooling, call);
  const members = new Map<number, MadeProbe<P>>();
  const trainScores = new Map<number, [number, number]>();
  for (const [li, layer] of layers.entries()) {
    const one = sliceLayer(acts, li, layers.length);
    const job =
      pooling === "all" && one.sequences
        ? expandTokens(one.sequences, one.hidden, data.labels, weights)
        : { x: one.data, n: one.n, y: data.labels, weights };
    const fit: FitJob = {
      x: job.x,
      n: job.n,
      layers: [layer],
      hidden: one.hidden,
      y: job.y,
      sampleWeight: job.weights,
      path: "prompt",
    };
    const { state } = await runFit(base.runtime, base.options, fit, call);
    const made = factory({ ...base.options, layers: layer, runtime: base.runtime });
    made.core.adopt(state);
    members.set(layer, made);
    trainScores.set(layer, await trainingScore(state, job.x, job.n, job.y));
    try {
      call.onProgress?.({ type: "sweep", layer, completed: li + 1, total: layers.length });
    } catch {
      // a throwing callback is ignored, as everywhere (CallOptions.onProgress)
    }
  }
  return { members, trainScores };
}

/** Training accuracy (R²) and log-loss, to rank layers before any held-out data is seen. */
async function trainingScore(state: FittedState, x: Float32Array, n: number, y: number[]): Promise<[number, number]> {
  if (state.model.kind === "opaque") return [0, 0];
  const s = await scoreRows(state, x, n, noOpaque);
  if (s.values) return [r2Score(y, s.values), 0];
  const classes = state.model.classes;
  const logLoss = s.proba
    ? -s.proba.reduce((acc, row, i) => acc + Math.log(Math.max(row[classes.indexOf(y[i]!)]!, 1e-15)), 0) / n
    : 0;
  return [accuracy(y, s.labels ?? []), logLoss];
}

/**
 * `fit` with `layers: "sweep…"`: trains every layer and returns them with the state of the best
 * layer by training accuracy (ties: lower training log-loss, then the lowest layer) — lmprobe
 * keeps the first layer until `evaluate`. `evaluate` then moves to the best held-out layer.
 */
export async function sweepFit<P extends SweepMember>(
  core: ProbeCore,
  layers: number[],
  data: TrainingData,
  weights: number[] | undefined,
  call: PredictOptions,
  factory: ProbeFactory<P>,
): Promise<{ result: LayerSweepResult<P>; best: FittedState }> {
  if (typeof core.options.classifier !== "string") {
    throw new InvalidOptionError(
      "classifier",
      "Invalid Probe options: layer sweeps need a built-in classifier (custom estimators are not swept).",
    );
  }
  const { members, trainScores } = await fitPerLayer(core, layers, data, weights, call, factory);
  const rank = (l: number): [number, number] => trainScores.get(l) ?? [-Infinity, Infinity];
  const better = (l: number, b: number) =>
    rank(l)[0] > rank(b)[0] || (rank(l)[0] === rank(b)[0] && rank(l)[1] < rank(b)[1]);
  const best = layers.reduce((b, l) => (better(l, b) ? l : b), layers[0]!);
  const result = new LayerSweepResult(members);
  return { result, best: result.stateOf(best) };
}

/** `Probe.sweepLayers`: trains one probe per layer and returns them. */
export async function sweepLayers<P extends SweepMember>(
  args: SweepArgs,
  factory: ProbeFactory<P>,
): Promise<LayerSweepResult<P>> {
  const { positivePrompts, negativePrompts, sampleWeight, batchSize, signal, onProgress, layers, ...options } = args;
  const ownsRuntime = options.runtime === undefined;
  const runtime = options.runtime ?? new PythonRuntime();
  const base = factory({ ...options, layers: layers ?? "all", runtime });
  try {
    const { task, tokens } = base.core.options;
    const data = trainingData(positivePrompts, negativePrompts, task, tokenRoles(tokens));
    const weights = checkSampleWeight(sampleWeight, data.prompts.length);
    const plan = await base.core.session.plan({});
    const list = "candidates" in plan ? plan.candidates : plan.layers;
    const call = {
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(batchSize ? { batchSize } : {}),
    };
    const { members } = await fitPerLayer(base.core, list, data, weights, call, factory);
    return new LayerSweepResult(members, ownsRuntime ? runtime : undefined);
  } catch (err) {
    if (ownsRuntime) await runtime.close();
    throw err;
  } finally {
    await base.probe.close(); // its cache handle; the runtime belongs to the result
  }
}
