/**
 * The bodies of `score`, `evaluate`, `computeLayerImportance` and the `*FromActivations` scoring
 * methods, on a probe's core.
 */
import type { ActivationsInput } from "../estimator/activation-matrix.js";
import { evaluatePredictions } from "../estimator/evaluation.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { accuracy, r2Score } from "../estimator/metrics.js";
import { checkMonitoringFor, parseMonitoringOptions } from "../estimator/monitoring-options.js";
import { hasProba, layerImportance, type ImportanceMetric, type RowScores } from "../estimator/scoring.js";
import { promptId, type Prompt } from "../chat/chat-input.js";
import { checkLabels } from "../estimator/training-data.js";
import { InvalidInputError } from "../errors.js";
import { isOneOf } from "../internal/unknown-values.js";
import type { EvaluationResult } from "../types.js";
import type { ProbeCore } from "./core.js";
import type { EvaluateOptions, PredictOptions } from "./probe-types.js";

/** What `evaluate` needs of a sweep: its layers, their scores and their states. */
export interface SweptLayers {
  readonly layers: number[];
  score(prompts: Prompt[], labels: number[], options?: PredictOptions): Promise<Record<number, number>>;
  stateOf(layer: number): FittedState;
}

/** Accuracy (classification) or R² (regression) of scored rows. */
export function scoreOf(task: FittedState["task"], truth: number[], s: RowScores | undefined): number {
  return task === "regression" ? r2Score(truth, s?.values ?? []) : accuracy(truth, s?.labels ?? []);
}

/** `score`: accuracy or R² on labelled prompts. */
export async function scorePrompts(core: ProbeCore, prompts: Prompt[], labels: number[], options: PredictOptions) {
  const { task } = core.fitted("score");
  const list = core.prompts(prompts);
  const truth = checkLabels(labels, list.length, "labels", task);
  return scoreOf(task, truth, (await core.predictions(list, options, true)).perPrompt);
}

/**
 * `evaluate`: metrics on labelled prompts, plus the monitoring metrics its options ask for
 * (checked before anything is extracted). A swept probe first moves to the layer that scores
 * best on these labels, as lmprobe does (ties: the lowest layer).
 */
export async function evaluatePrompts(
  core: ProbeCore,
  sweep: SweptLayers | undefined,
  prompts: Prompt[],
  labels: number[],
  options: EvaluateOptions,
): Promise<EvaluationResult> {
  const state = core.fitted("evaluate");
  const { task } = state;
  const monitoring = parseMonitoringOptions(options);
  checkMonitoringFor(monitoring, task, state.model.classes.length, hasProba(state.model));
  const list = core.prompts(prompts);
  const ids = list.map(promptId); // the evaluation-set hash reads conversations as JSON
  const truth = checkLabels(labels, list.length, "labels", task);
  const evaluate = async () =>
    evaluatePredictions(
      task,
      core.fitted("evaluate").model.classes,
      ids,
      truth,
      await core.predictions(list, options, true),
      monitoring,
    );
  if (!sweep) return evaluate();
  const layerResults = await sweep.score(list, truth, options);
  const bestLayer = sweep.layers.reduce((b, l) =>
    (layerResults[l] ?? -Infinity) > (layerResults[b] ?? -Infinity) ? l : b,
  );
  core.adopt(sweep.stateOf(bestLayer));
  return {
    ...(await evaluate()),
    layerResults,
    bestLayer,
  };
}

const METRICS = ["l2", "l1", "mean_abs", "max_abs"] as const;

/** `computeLayerImportance`: per-layer coefficient norms; also records them as candidates. */
export function computeImportance(core: ProbeCore, metric: ImportanceMetric, normalize: boolean): number[] {
  const state = core.fitted("computeLayerImportance");
  if (!isOneOf(METRICS, metric)) {
    throw new InvalidInputError("metric", `Unknown metric "${metric}": use "l2", "l1", "mean_abs" or "max_abs".`);
  }
  const importances = layerImportance(state, metric, normalize);
  core.adopt({ ...state, candidateLayers: [...state.layers], layerImportances: importances });
  return importances;
}

/** `scoreFromActivations`: accuracy or R² on activation rows. */
export async function scoreActivationRows(core: ProbeCore, x: ActivationsInput, y: number[]): Promise<number> {
  const state = core.fitted("scoreFromActivations");
  const scores = await core.scoreActivations(state, x);
  const truth = checkLabels(y, (scores.labels ?? scores.values ?? []).length, "y", state.task);
  return scoreOf(state.task, truth, scores);
}
