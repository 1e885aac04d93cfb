/**
 * The worker's `fit` request: activations, labels and the classifier spec in the wire's
 * snake_case, and the fitted state built from its answer.
 */
import { preprocessingSteps, type ResolvedProbeOptions } from "../config/probe-options.js";
import { tensor } from "../protocol/codec.js";
import type { CallOptions } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { fittedStateFromWire, type FittedState } from "../estimator/fitted-state.js";

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
export async function runFit(runtime: PythonRuntime, o: ResolvedProbeOptions, job: FitJob, call: CallOptions): Promise<{ state: FittedState; seconds: number }> {
  const classifier = typeof o.classifier === "string" ? o.classifier : { estimator: o.classifier.estimator, params: o.classifier.params ?? {} };
  const steps = preprocessingSteps(o.preprocessing, o.pcaComponents);
  const result = await runtime.request(
    "fit",
    {
      X: tensor(job.x, [job.n, job.layers.length, job.hidden]),
      y: job.y,
      task: o.task,
      classifier,
      // A copy: the user's object is never handed anywhere that could change it.
      classifier_kwargs: structuredClone(o.classifierKwargs ?? {}),
      random_state: o.randomState ?? null,
      normalize_layers: job.normalizeLayers ?? o.normalizeLayers,
      path: job.path,
      preprocessing: steps.length > 0 ? steps.map((s) => s.kind) : null,
      pca_components: steps.find((s) => s.kind === "pca")?.components ?? null,
      mass_mean_augment: o.massMeanAugment,
      sample_weight: job.sampleWeight ?? null,
      layer_selection:
        job.selection === "auto"
          ? { mode: "auto", alpha: o.autoAlpha }
          : job.selection === "fast_auto"
            ? { mode: "fast_auto", top_k: o.fastAutoTopK ?? null }
            : null,
    },
    call,
  );
  const state = fittedStateFromWire(result, { task: o.task, path: job.path, layers: job.layers, ...(job.selection ? { candidates: job.layers } : {}) });
  return { state, seconds: Number(result.seconds) };
}
