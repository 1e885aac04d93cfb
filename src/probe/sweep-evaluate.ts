/**
 * `LayerSweepResult.evaluate`: `evaluate`'s metrics for every swept layer at once, from one
 * extraction of all layers (the same predictions `score` uses), so a sweep can be charted; the
 * monitoring options (`fpr`, `roc`, `bootstrap`) are `Probe.evaluate`'s, checked before extracting.
 */
import { evaluatePredictions } from "../estimator/evaluation.js";
import type { FittedState } from "../estimator/fitted-state.js";
import type { Predictions } from "../estimator/inference.js";
import { promptId, type Prompt } from "../chat/chat-input.js";
import { checkMonitoringFor, parseMonitoringOptions } from "../estimator/monitoring-options.js";
import { hasProba } from "../estimator/scoring.js";
import { checkLabels, checkPrompts } from "../estimator/training-data.js";
import type { EvaluationResult } from "../types.js";
import type { EvaluateOptions, PredictOptions } from "./probe-types.js";

/** What per-layer evaluation needs of a sweep: its layers, their states, and their predictions. */
export interface EvaluableSweep {
  readonly layers: number[];
  stateOf(layer: number): FittedState;
  predictionsByLayer(prompts: Prompt[], options: PredictOptions, pooled: boolean): Promise<Map<number, Predictions>>;
}

/** The metrics of each layer's probe on labelled prompts, keyed by layer (ascending). */
export async function evaluateLayers(
  sweep: EvaluableSweep,
  prompts: Prompt[],
  labels: number[],
  options: EvaluateOptions = {},
): Promise<Map<number, EvaluationResult>> {
  const first = sweep.stateOf(sweep.layers[0]!);
  const monitoring = parseMonitoringOptions(options);
  // Every layer has the same task, classes and classifier: the first one answers for all.
  checkMonitoringFor(monitoring, first.task, first.model.classes.length, hasProba(first.model));
  const list = checkPrompts(prompts);
  const truth = checkLabels(labels, list.length, "labels", first.task);
  const ids = list.map(promptId); // the evaluation-set hash reads conversations as JSON
  const out = new Map<number, EvaluationResult>();
  for (const [layer, predictions] of await sweep.predictionsByLayer(list, options, true)) {
    const state = sweep.stateOf(layer);
    out.set(layer, evaluatePredictions(state.task, state.model.classes, ids, truth, predictions, monitoring));
  }
  return out;
}
