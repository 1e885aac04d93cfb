/**
 * results.json, report.html and the terminal chart of `lmprobe sweep`, from given per-layer
 * metrics (no Python; the real sweep behind them is in test/integration/sweep-*.test.ts): the
 * best layer, the page is self-contained (Vega inlined, no URL loaded), its embedded results are
 * the results, and text from the data cannot break out of the page.
 */
import { describe, expect, it } from "vitest";
import { baselineList, baselineTerminalTable, bareBaselinesFlag } from "../../src/cli/sweep-baselines.js";
import { layerTable, terminalChart } from "../../src/cli/sweep-chart.js";
import { baselineReferences, metricPoints, metricsSpec, toVega } from "../../src/report/chart-spec.js";
import { renderReportHtml } from "../../src/report/report-html.js";
import { buildSweepResults, type SweepBaselines, type SweepResults } from "../../src/report/sweep-results.js";
import type { BaselineRow, ClassificationEvaluation, EvaluationResult } from "../../src/index.js";

const evaluation = (accuracy: number, auroc: number | null): EvaluationResult => ({
  task: "classification",
  accuracy,
  auroc,
  f1: accuracy,
  precision: accuracy,
  recall: accuracy,
  nEval: 10,
  evalHash: "sha256:00",
});

const row = (name: BaselineRow["name"], kind: BaselineRow["kind"], accuracy: number, auroc: number | null) => ({
  name,
  kind,
  score: accuracy,
  accuracy,
  auroc,
  fitSeconds: 0.1,
  predictSeconds: 0.01,
});

/** A battery table as `lmprobe sweep --baselines` records it. */
const battery: SweepBaselines = {
  metric: "accuracy",
  rows: [row("bow", "text", 0.7, 0.75), row("majority", "text", 0.5, 0.5), row("pca", "activation", 0.6, 0.8)],
  skipped: [{ name: "layer_0", code: "INVALID_INPUT", message: "no layer 0" }],
  nTest: 10,
  layer: 4,
  pooling: "last_token",
};

function results(extra: Partial<Parameters<typeof buildSweepResults>[0]> = {}): SweepResults {
  return buildSweepResults({
    settings: {
      model: 'evil</script><script>alert("x")</script>',
      layerSpec: "0,4,8",
      classifier: "logistic_regression",
      pooling: "last_token",
      seed: 0,
      data: { data: "d.jsonl", split: 0.2 },
      nTrain: 40,
      nTest: 10,
    },
    model: { id: "m", revision: null, fingerprint: "sha256:ab", identity: { kind: "local" }, numLayers: 9 },
    train: new Map([
      [0, evaluation(0.8, 0.85)],
      [4, evaluation(1, 1)],
      [8, evaluation(1, 1)],
    ]),
    test: new Map([
      [8, evaluation(0.9, null)],
      [0, evaluation(0.6, 0.7)],
      [4, evaluation(0.9, 0.95)],
    ]),
    createdAt: new Date("2026-12-01T00:00:00Z"),
    ...extra,
  });
}

describe("sweep results", () => {
  it("orders layers, picks the best test accuracy (ties: the lower layer), records importances", () => {
    const r = results({
      importances: new Map([
        [0, 0.2],
        [4, 0.5],
        [8, 0.3],
      ]),
    });
    expect(r.layers.map((l) => l.layer)).toEqual([0, 4, 8]);
    expect(r.bestLayer.layer).toBe(4);
    expect(r.bestLayer.test.auroc).toBe(0.95);
    expect(r.layers.map((l) => l.importance)).toEqual([0.2, 0.5, 0.3]);
    expect(r.layerImportances?.values).toEqual({ 0: 0.2, 4: 0.5, 8: 0.3 });
    expect(r.baselines).toBeNull();
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("plots one point per layer for each split and metric (an undefined AUROC is left out)", () => {
    const points = metricPoints(results());
    const count = (split: string, metric: string) =>
      points.filter((p) => p.split === split && p.metric === metric).length;
    expect([count("train", "accuracy"), count("test", "accuracy"), count("train", "AUROC")]).toEqual([3, 3, 3]);
    expect(count("test", "AUROC")).toBe(2);
    expect(toVega(metricsSpec(results()))).toHaveProperty("marks");
  });
});

describe("report.html", () => {
  it("is self-contained: Vega inlined, no external script, stylesheet or URL to load", () => {
    const html = renderReportHtml(results());
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/<img|<iframe|@import/i);
    expect(html).toContain("vega.View"); // the render code
    expect(html.length).toBeGreaterThan(300_000); // the Vega runtime itself, not a reference to it
    expect(html).toMatch(/^<!doctype html>/);
  });

  it("embeds the results and compiled specs, safely escaped; shows the best layer and baselines", () => {
    const r = results({ baselines: battery });
    const html = renderReportHtml(r);
    // The hostile model name cannot close a script element or open one.
    expect(html).not.toContain('<script>alert("x")');
    expect(html).toContain("evil&lt;/script&gt;");
    const embedded = /<script type="application\/json" id="sweep-results">(.*?)<\/script>/s.exec(html)?.[1];
    expect(JSON.parse(embedded!)).toEqual(r);
    expect(html).toMatch(/Best layer: <strong>4<\/strong>, test accuracy 0\.900,\s+test AUROC 0\.950/);
    expect(html).toContain("<h2>Baselines (test set)</h2>");
    expect(html).toContain("<td>bow</td><td>text</td><td>0.700</td><td>0.750</td>");
    expect(html).toContain("<td>probe (layer 4)</td><td>probe</td><td>0.900</td><td>0.950</td>");
    expect(html).toContain("Activation baselines read layer 4 (last_token pooling).");
    expect(html).toContain("Skipped: layer_0 (INVALID_INPUT: no layer 0).");
    expect(renderReportHtml(results())).not.toContain("Baselines");
  });
});

describe("terminal chart", () => {
  it("draws accuracy per layer with a layer axis (best starred) and a table row per layer", () => {
    const r = results();
    const chart = terminalChart(r, { width: 30 });
    expect(chart).toContain("1.00 ┤");
    expect(chart).toMatch(/\n\s+0\s+4\*\s+8\n/);
    expect(chart).not.toContain("\u001b["); // no colours unless asked
    expect(terminalChart(r, { color: true })).toContain("\u001b[");
    const table = layerTable(r).split("\n");
    expect(table).toHaveLength(4);
    expect(table[2]).toMatch(/^\s+4\s+1\.000\s+1\.000\s+0\.900\s+0\.950\s+<- best$/);
    expect(table[3]).toMatch(/^\s+8\s+1\.000\s+1\.000\s+0\.900\s+n\/a/);
  });
});

describe("baselines beside the probe", () => {
  it("draws the best baseline of each metric as a reference line (the lines are not layer points)", () => {
    const r = results({ baselines: battery });
    // Best accuracy: bow (0.7); best AUROC: pca (0.8), each on its own panel.
    expect(baselineReferences(r)).toEqual([
      { metric: "accuracy", reference: "best baseline: bow", value: 0.7 },
      { metric: "AUROC", reference: "best baseline: pca", value: 0.8 },
    ]);
    expect(baselineReferences(results())).toEqual([]);
    const spec = JSON.stringify(toVega(metricsSpec(r)));
    expect(spec).toContain("best baseline: bow");
    expect(spec).toContain('"type":"rule"');
    // The layer points are what they were without baselines.
    expect(metricPoints(r)).toEqual(metricPoints(results()));
  });

  it("prints the probe and each baseline in the terminal, with the skipped ones", () => {
    const lines = baselineTerminalTable(results({ baselines: battery })).split("\n");
    expect(lines[0]).toBe("baselines (test set, activation baselines at layer 4):");
    expect(lines[2]).toMatch(/^probe \(layer 4\)\s+probe\s+0\.900\s+0\.950$/);
    expect(lines.slice(3, 6).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ["bow", "text", "0.700"],
      ["majority", "text", "0.500"],
      ["pca", "activation", "0.600"],
    ]);
    expect(lines[6]).toBe("skipped layer_0: [INVALID_INPUT] no layer 0");
    expect(baselineTerminalTable(results())).toBe("");
  });

  it("--baselines: bare means lmprobe's default battery; lists are checked against the pooling", () => {
    expect(bareBaselinesFlag(["--baselines", "--json"])).toEqual(["--baselines=default", "--json"]);
    expect(bareBaselinesFlag(["--baselines"])).toEqual(["--baselines=default"]);
    expect(bareBaselinesFlag(["--baselines", "bow,pca"])).toEqual(["--baselines", "bow,pca"]);
    expect(baselineList("default", "last_token")?.names).toEqual([
      "bow",
      "tfidf",
      "random",
      "majority",
      "sentence_length",
      "random_direction",
      "pca",
      "layer_0",
    ]);
    expect(baselineList("pca, bow", "mean")).toEqual({ names: ["bow", "pca"], dropped: [] });
    expect(baselineList(undefined, "mean")).toBeUndefined();
    // "default" with a pooling the activation baselines lack: text ones run, the rest are named.
    expect(baselineList("default", "max")).toEqual({
      names: ["bow", "tfidf", "random", "majority", "sentence_length"],
      dropped: ["random_direction", "pca", "layer_0"],
    });
    expect(() => baselineList("pca", "max")).toThrow(/--pooling max is not one of them/);
    expect(() => baselineList("bow,word2vec", "mean")).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "--baselines" }),
    );
  });

  it("shows the test split's recall@1%/5%FPR per layer when the sweep measured it", () => {
    const withRecall = (e: EvaluationResult, recall: number): EvaluationResult => ({
      ...(e as ClassificationEvaluation),
      recallAtFpr: [
        { fpr: 0.01, recall, threshold: 0.9, actualFpr: 0 },
        { fpr: 0.05, recall: recall + 0.1, threshold: 0.8, actualFpr: 0 },
      ],
    });
    const r = results({
      test: new Map([
        [0, withRecall(evaluation(0.6, 0.7), 0.2)],
        [4, withRecall(evaluation(0.9, 0.95), 0.6)],
        [8, withRecall(evaluation(0.9, null), 0.4)],
      ]),
    });
    const html = renderReportHtml(r);
    expect(html).toContain("<th>test recall@1%FPR</th><th>test recall@5%FPR</th>");
    expect(html).toMatch(/<td>4<\/td>(<td>[^<]*<\/td>){5}<td>0\.600<\/td><td>0\.700<\/td>/);
    expect(renderReportHtml(results())).not.toContain("recall@");
  });
});
