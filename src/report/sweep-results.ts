/**
 * results.json of `lmprobe sweep`: the run's settings, the model's identity, every layer's train
 * and test metrics, layer importances, the best layer and (optional) baselines. The HTML report
 * and the terminal chart are drawn from this one object.
 */
import type { BaselineTable } from "../baselines/baseline-table.js";
import type { ClassificationEvaluation, EvaluationResult } from "../types.js";
import type { ModelInfo } from "./model-info.js";

/** Format tag of results.json; bump `version` when a field changes meaning. */
export const SWEEP_RESULTS_FORMAT = "lmprobe-ts/sweep-results";

/** The run's settings, as given (file paths as typed) and as resolved. */
export interface SweepSettings {
  model: string;
  /** The `--layers` spec as given (the layers it resolved to are `SweepResults.layers`). */
  layerSpec: string;
  classifier: string;
  pooling: string;
  seed: number;
  data: { data?: string; positive?: string; negative?: string; test?: string; split?: number };
  nTrain: number;
  nTest: number;
  batchSize?: number;
  /** The baselines asked for (`--baselines`), when any. */
  baselines?: string[];
  /** The target FPRs of the test split's `recallAtFpr` (binary probes with probabilities). */
  fpr?: number[];
}

/** One layer's metrics on the training and the test set (evaluate's full result). */
export interface LayerMetrics {
  layer: number;
  train: ClassificationEvaluation;
  test: ClassificationEvaluation;
  /** This layer's share of a probe on all swept layers (normalised coefficient L2 norm), when computed. */
  importance?: number;
}

/**
 * A baseline battery's table on the sweep's own train/test split, shown beside the probe
 * (`lmprobe sweep --baselines`): text baselines see the prompts, activation baselines read `layer`.
 */
export interface SweepBaselines extends BaselineTable {
  /** The layer the activation baselines read (the best layer); null when none of them ran. */
  layer: number | null;
  /** The pooling the activation baselines used (the sweep's). */
  pooling: string;
}

/** Everything a sweep produced. */
export interface SweepResults {
  format: typeof SWEEP_RESULTS_FORMAT;
  version: 1;
  createdAt: string;
  settings: SweepSettings;
  model: ModelInfo;
  layers: LayerMetrics[];
  /** Highest test accuracy (ties: the lowest layer), the rule `Probe.evaluate` uses for swept probes. */
  bestLayer: { layer: number; criterion: string; train: ClassificationEvaluation; test: ClassificationEvaluation };
  layerImportances: { metric: "l2"; normalized: true; note: string; values: Record<string, number> } | null;
  /** The baseline battery's table, or null when the sweep ran none. */
  baselines: SweepBaselines | null;
}

function classification(e: EvaluationResult | undefined, layer: number): ClassificationEvaluation {
  if (!e || e.task !== "classification")
    throw new TypeError(`layer ${layer}: a sweep report needs classification metrics`);
  return e;
}

/** The best layer: highest test accuracy, ties to the lowest layer (`SweepResults.bestLayer`). */
export function bestTestLayer(test: Map<number, EvaluationResult>): number {
  const layers = [...test.keys()].sort((a, b) => a - b);
  const acc = (l: number) => classification(test.get(l), l).accuracy;
  return layers.reduce((b, l) => (acc(l) > acc(b) ? l : b), layers[0]!);
}

/** Builds the results from per-layer evaluations (the sweep result's `evaluate` on each set). */
export function buildSweepResults(input: {
  settings: SweepSettings;
  model: ModelInfo;
  train: Map<number, EvaluationResult>;
  test: Map<number, EvaluationResult>;
  /** Per swept layer, in layer order, e.g. `computeLayerImportance()` of a probe on all swept layers. */
  importances?: Map<number, number>;
  baselines?: SweepBaselines;
  createdAt?: Date;
}): SweepResults {
  const layers = [...input.test.keys()].sort((a, b) => a - b);
  const rows: LayerMetrics[] = layers.map((layer) => {
    const importance = input.importances?.get(layer);
    return {
      layer,
      train: classification(input.train.get(layer), layer),
      test: classification(input.test.get(layer), layer),
      ...(importance !== undefined ? { importance } : {}),
    };
  });
  const bestLayer = bestTestLayer(input.test);
  const best = rows.find((r) => r.layer === bestLayer)!;
  return {
    format: SWEEP_RESULTS_FORMAT,
    version: 1,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    settings: input.settings,
    model: input.model,
    layers: rows,
    bestLayer: {
      layer: best.layer,
      criterion: "highest test accuracy (ties: the lowest layer)",
      train: best.train,
      test: best.test,
    },
    layerImportances: input.importances
      ? {
          metric: "l2",
          normalized: true,
          note: "coefficient L2 norm per layer of one probe trained on all swept layers together, summing to 1",
          values: Object.fromEntries([...input.importances].map(([l, v]) => [String(l), v])),
        }
      : null,
    baselines: input.baselines ?? null,
  };
}
