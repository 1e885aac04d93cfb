/**
 * `LayerSweepResult` (lmprobe's): the per-layer probes of a sweep, scored and evaluated from ONE
 * extraction of every swept layer. Sweeps make their probes through a factory (Probe passes its
 * own), so this module never imports Probe.
 */
import type { Prompt } from "../chat/chat-input.js";
import type { ProbeOptions } from "../config/probe-options.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { predictPrompts, type Predictions } from "../estimator/inference.js";
import { accuracy, r2Score } from "../estimator/metrics.js";
import { resolveInferencePooling, type VectorPooling } from "../estimator/pooling.js";
import type { ActivationBlock } from "../estimator/sequence-pooling.js";
import { checkLabels } from "../estimator/training-data.js";
import { InvalidOptionError } from "../errors.js";
import type { EvaluationResult } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import type { ProbeCore } from "./core.js";
import { noOpaque, sliceLayer } from "./layer-slice.js";
import type { EvaluateOptions, PredictOptions } from "./probe-types.js";
import { evaluateLayers } from "./sweep-evaluate.js";

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
