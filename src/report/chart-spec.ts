/**
 * The report's charts as Vega-Lite specs, compiled to Vega here (Node), so the page needs only
 * the Vega runtime: accuracy and AUROC per layer (train and test, one point per layer each), the
 * best baseline of each metric as a horizontal reference line when the sweep ran baselines, and
 * layer importances when the sweep computed them.
 */
import { compile, type TopLevelSpec } from "vega-lite";
import type { SweepResults } from "./sweep-results.js";

/** One plotted value: a layer's metric on one split. */
export interface MetricPoint {
  layer: number;
  split: "train" | "test";
  metric: "accuracy" | "AUROC";
  value: number;
}

/** The plotted points: every layer's accuracy and (where defined) AUROC, on train and test. */
export function metricPoints(results: SweepResults): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const metric of ["accuracy", "AUROC"] as const)
    for (const split of ["train", "test"] as const)
      for (const row of results.layers) {
        const value = metric === "accuracy" ? row[split].accuracy : row[split].auroc;
        if (value !== null && Number.isFinite(value)) points.push({ layer: row.layer, split, metric, value });
      }
  return points;
}

/** A horizontal reference line: the best baseline's value of one metric. */
export interface ReferencePoint {
  metric: "accuracy" | "AUROC";
  reference: string;
  value: number;
}

/** The best baseline by test accuracy and by test AUROC (ties: the first in table order). */
export function baselineReferences(results: SweepResults): ReferencePoint[] {
  const rows = results.baselines?.rows ?? [];
  const out: ReferencePoint[] = [];
  for (const metric of ["accuracy", "AUROC"] as const) {
    let best: { name: string; value: number } | undefined;
    for (const row of rows) {
      const value = metric === "accuracy" ? row.accuracy : row.auroc;
      if (value !== null && Number.isFinite(value) && (!best || value > best.value)) best = { name: row.name, value };
    }
    if (best) out.push({ metric, reference: `best baseline: ${best.name}`, value: best.value });
  }
  return out;
}

const X = { field: "layer", type: "quantitative", title: "layer", axis: { tickMinStep: 1 } } as const;

/** Accuracy and AUROC per layer, one panel each; the best layer is marked with a dashed rule. */
export function metricsSpec(results: SweepResults): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    description: "Accuracy and AUROC per layer, train and test",
    data: { values: [...metricPoints(results), ...baselineReferences(results)] },
    facet: { column: { field: "metric", type: "nominal", title: null, sort: ["accuracy", "AUROC"] } },
    spec: {
      width: 340,
      height: 230,
      encoding: {
        x: X,
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false, domainMax: 1 } },
        color: { field: "split", type: "nominal", sort: ["train", "test"], title: "split" },
      },
      layer: [
        { transform: [{ filter: "isValid(datum.split)" }], mark: { type: "line", strokeWidth: 2 } },
        {
          transform: [{ filter: "isValid(datum.split)" }],
          mark: { type: "point", filled: true, size: 70 },
          encoding: {
            tooltip: [
              { field: "layer", type: "quantitative" },
              { field: "split", type: "nominal" },
              { field: "metric", type: "nominal" },
              { field: "value", type: "quantitative", format: ".3f" },
            ],
          },
        },
        {
          transform: [{ filter: `datum.layer === ${results.bestLayer.layer} && datum.split === 'test'` }],
          mark: { type: "rule", strokeDash: [4, 4], color: "#888" },
          encoding: { x: X, y: null, color: null },
        },
        {
          // The best baseline: is the probe above what the text alone (or a random direction) gets?
          transform: [{ filter: "isValid(datum.reference)" }],
          mark: { type: "rule", strokeDash: [6, 3], strokeWidth: 1.5, color: "#c0392b" },
          encoding: {
            x: null,
            color: null,
            tooltip: [
              { field: "reference", type: "nominal" },
              { field: "value", type: "quantitative", format: ".3f" },
            ],
          },
        },
        {
          transform: [{ filter: "isValid(datum.reference)" }],
          mark: { type: "text", align: "left", baseline: "bottom", dx: 4, dy: -2, color: "#c0392b", fontSize: 11 },
          encoding: { x: { value: 0 }, color: null, text: { field: "reference" } },
        },
      ],
    },
  } as TopLevelSpec;
}

/** Layer importances as bars, or undefined when the sweep has none. */
export function importanceSpec(results: SweepResults): TopLevelSpec | undefined {
  if (!results.layerImportances) return undefined;
  const values = Object.entries(results.layerImportances.values).map(([layer, importance]) => ({
    layer: Number(layer),
    importance,
  }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    description: "Layer importance (normalised coefficient L2 norm of a probe on all swept layers)",
    data: { values },
    width: 720,
    height: 160,
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: { field: "layer", type: "ordinal", title: "layer", axis: { labelAngle: 0 } },
      y: { field: "importance", type: "quantitative", title: "importance" },
    },
  };
}

/** A Vega-Lite spec compiled to a Vega spec (what the page's Vega runtime draws). */
export function toVega(spec: TopLevelSpec): object {
  return compile(spec).spec;
}
