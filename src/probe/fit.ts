/**
 * A fit in the worker: the probe's options and one job's features become the `fit` RPC, and its
 * reply becomes the fitted state TypeScript keeps.
 */
import { preprocessingSteps, type ResolvedProbeOptions } from "../config/probe-options.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { fittedStateFromWire, fitToWire, type FitSpec } from "../protocol/fit.js";
import type { CallOptions } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";

/** One fit: features (n, nLayers, hidden) and what to do with them. */
export interface FitJob {
  x: Float32Array;
  n: number;
  layers: number[];
  hidden: number;
  y: number[];
  sampleWeight?: number[] | undefined;
  /** "prompt": lmprobe's `fit` rules; "activations": `fit_from_activations` (no scaler, no preprocessing). */
  path: "prompt" | "activations";
  /** "auto"/"fast_auto": `layers` are the candidates to choose from. */
  selection?: "auto" | "fast_auto";
  /** Layer scaling override (a sweep's per-layer probes use the probe's own setting). */
  normalizeLayers?: ResolvedProbeOptions["normalizeLayers"];
}

/** Sends the fit request and returns the fitted state and the worker's fit time. */
export async function runFit(
  runtime: PythonRuntime,
  o: ResolvedProbeOptions,
  job: FitJob,
  call: CallOptions,
): Promise<{ state: FittedState; seconds: number }> {
  const selection: FitSpec["selection"] =
    job.selection === "auto"
      ? { mode: "auto", alpha: o.autoAlpha }
      : job.selection === "fast_auto"
        ? { mode: "fast_auto", topK: o.fastAutoTopK }
        : undefined;
  const request = fitToWire({
    x: job.x,
    n: job.n,
    layers: job.layers,
    hidden: job.hidden,
    y: job.y,
    task: o.task,
    classifier: o.classifier,
    classifierKwargs: o.classifierKwargs ?? {},
    randomState: o.randomState ?? null,
    normalizeLayers: job.normalizeLayers ?? o.normalizeLayers,
    path: job.path,
    preprocessing: preprocessingSteps(o.preprocessing, o.pcaComponents),
    massMeanAugment: o.massMeanAugment,
    sampleWeight: job.sampleWeight,
    selection,
  });
  const reply = await runtime.call("fit", request, call);
  const context = {
    task: o.task,
    path: job.path,
    layers: job.layers,
    ...(job.selection ? { candidates: job.layers } : {}),
  };
  return { state: fittedStateFromWire(reply, context), seconds: Number(reply.seconds) };
}
