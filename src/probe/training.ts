/**
 * The bodies of `fit` (fixed and auto layers), `warmup` and `fitFromActivations`, on a probe's
 * core. Sweep fits live in sweep.ts.
 */
import { toRows, type ActivationsInput } from "../estimator/activation-matrix.js";
import { resolveInferencePooling, resolveTrainPooling, isVectorPooling } from "../estimator/pooling.js";
import { checkLabels, checkSampleWeight, expandTokens, type TrainingData } from "../estimator/training-data.js";
import { promptId, type Prompt } from "../chat/chat-input.js";
import { InvalidInputError } from "../errors.js";
import type { LayerPlan } from "../extraction/layers.js";
import type { CallOptions } from "../types.js";
import type { ProbeCore } from "./core.js";
import { runFit, type FitJob } from "./fit.js";
import type { FitOptions, WarmupOptions, WarmupResult } from "./probe-types.js";

/** Fits fixed or auto/fast_auto layers from prompts (the plan's candidates, for auto). */
export async function fitPlan(
  core: ProbeCore,
  plan: Exclude<LayerPlan, { mode: "sweep" }>,
  data: TrainingData,
  weights: number[] | undefined,
  options: FitOptions,
): Promise<void> {
  const started = performance.now();
  const layers = "candidates" in plan ? plan.candidates : plan.layers;
  // Conversations need a chat template: refused here, before the worker starts.
  await core.session.chatSource(data.prompts, options);
  // The fit needs the worker whatever the cache holds: starting it now overlaps Python's
  // import time with the cache reads (all input checks have passed by here).
  core.runtime.prewarm(options.onProgress);
  const pooling = resolveTrainPooling(core.options.pooling, core.options.trainPooling);
  const acts = await core.session.extract(data.prompts, layers, pooling === "all" ? "sequence" : pooling, options);
  const rows =
    pooling === "all" && acts.sequences
      ? expandTokens(acts.sequences, layers.length * acts.hidden, data.labels, weights)
      : { x: acts.data, n: acts.n, y: data.labels, weights };
  const job: FitJob = {
    x: rows.x,
    n: rows.n,
    layers,
    hidden: acts.hidden,
    y: rows.y,
    sampleWeight: rows.weights,
    path: "prompt",
  };
  if (plan.mode !== "fixed") job.selection = plan.mode;
  const { state, seconds } = await runFit(core.runtime, core.options, job, options);
  core.adopt(state);
  core.lastProfile = {
    totalSeconds: (performance.now() - started) / 1000,
    extraction: acts.profile,
    fitSeconds: seconds,
  };
}

/** Extracts and caches activations for the probe's layers without training. */
export async function warmup(core: ProbeCore, prompts: Prompt[], options: WarmupOptions): Promise<WarmupResult> {
  const started = performance.now();
  const list = core.prompts(prompts);
  const plan = await core.session.plan(options);
  const layers = "candidates" in plan ? plan.candidates : plan.layers;
  const train = resolveTrainPooling(core.options.pooling, core.options.trainPooling);
  const stage = resolveInferencePooling(core.options.pooling, core.options.inferencePooling);
  // Token-level poolings (either stage) need every token: cache full sequences then.
  const vector =
    train !== "all" && stage.stage === "activation" && isVectorPooling(stage.reduction) ? train : undefined;
  const acts = await core.session.extract(list, layers, vector ?? "sequence", { ...options, cacheOnly: true });
  core.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: acts.profile };
  return { prompts: new Set(list.map(promptId)).size, cached: acts.cachedPrompts };
}

/** Fits on user activations: rows of `nLayers × hidden` features (no scaler, no preprocessing). */
export async function fitActivations(
  core: ProbeCore,
  x: ActivationsInput,
  y: number[],
  options: CallOptions & { sampleWeight?: number[]; nLayers?: number },
): Promise<void> {
  const rows = toRows(x);
  const task = core.options.task;
  const truth = checkLabels(y, rows.n, "y", task);
  if (task === "classification" && new Set(truth).size < 2)
    throw new InvalidInputError("y", "y contains only one class: a classifier needs at least two.");
  const weights = checkSampleWeight(options.sampleWeight, rows.n);
  const nLayers = options.nLayers ?? 1;
  if (!Number.isInteger(nLayers) || nLayers < 1 || rows.d % nLayers !== 0) {
    throw new InvalidInputError(
      "nLayers",
      `nLayers (${nLayers}) must be a positive integer dividing the ${rows.d} features per row.`,
    );
  }
  const spec = core.options.layers;
  const explicit =
    typeof spec === "number" ? [spec] : Array.isArray(spec) ? [...spec].sort((a, b) => a - b) : undefined;
  const layers = explicit?.length === nLayers ? explicit : Array.from({ length: nLayers }, (_, i) => i);
  const job: FitJob = {
    x: rows.data,
    n: rows.n,
    layers,
    hidden: rows.d / nLayers,
    y: truth,
    sampleWeight: weights,
    path: "activations",
  };
  core.adopt((await runFit(core.runtime, core.options, job, options)).state);
}
