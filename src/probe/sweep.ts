/**
 * Layer sweeps: one single-layer probe per layer, all trained from ONE extraction of every swept
 * layer (one forward pass per batch, never one per layer). The result, which scores them the same
 * way, is sweep-result.ts (re-exported here); probes come from a factory, so no Probe import.
 */
import { tokenRoles, type Prompt } from "../chat/chat-input.js";
import type { LayerSpec, ProbeOptions } from "../config/probe-options.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { accuracy, r2Score } from "../estimator/metrics.js";
import { resolveTrainPooling } from "../estimator/pooling.js";
import { scoreRows } from "../estimator/scoring.js";
import { checkSampleWeight, expandTokens, trainingData, type TrainingData } from "../estimator/training-data.js";
import { InvalidOptionError } from "../errors.js";
import type { CallOptions } from "../types.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import type { ProbeCore } from "./core.js";
import { runFit, type FitJob } from "./fit.js";
import { noOpaque, sliceLayer } from "./layer-slice.js";
import type { PredictOptions } from "./probe-types.js";
import { LayerSweepResult, type MadeProbe, type ProbeFactory, type SweepMember } from "./sweep-result.js";

export { LayerSweepResult, bestOf, type MadeProbe, type ProbeFactory, type SweepMember } from "./sweep-result.js";

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
