/**
 * `lmprobe sweep`: one probe per layer from one extraction (`Probe.sweepLayers`), every layer
 * scored on the training and the test set, a chart in the terminal, and with `--out` a
 * results.json and a self-contained report.html.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLASSIFIERS, type LayerSpec } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";
import { hasProba } from "../estimator/scoring.js";
import { Probe } from "../probe/probe.js";
import type { LayerSweepResult } from "../probe/sweep.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import { choiceOption, integerOption, parseCommand } from "./args.js";
import { layerSpec, poolingSpec } from "./probe-commands.js";
import { CliProgress, progressMode } from "./progress.js";
import { baselineList, baselineTerminalTable, bareBaselinesFlag, runSweepBaselines } from "./sweep-baselines.js";
import { layerTable, terminalChart } from "./sweep-chart.js";
import { loadSweepData, splitOption, type DataSources } from "./sweep-data.js";
import { HELP } from "./usage.js";

const OPTIONS = {
  model: { type: "string" },
  data: { type: "string" },
  positive: { type: "string" },
  negative: { type: "string" },
  test: { type: "string" },
  split: { type: "string" },
  layers: { type: "string" },
  classifier: { type: "string" },
  pooling: { type: "string" },
  seed: { type: "string" },
  "batch-size": { type: "string" },
  out: { type: "string" },
  json: { type: "boolean" },
  "no-importance": { type: "boolean" },
  baselines: { type: "string" },
} as const;

/** Target FPRs of the test split's recall@FPR (monitoring metrics, binary probes with probabilities). */
const MONITOR_FPR = [0.01, 0.05];

type SweepLayers = Exclude<LayerSpec, "auto" | "fast_auto">;

/** `--layers` for a sweep: any layer spec but automatic selection (a sweep trains every listed layer). */
function sweepLayerSpec(value: string | undefined): SweepLayers {
  const spec = layerSpec(value) ?? "all";
  if (spec === "auto" || spec === "fast_auto") {
    throw new InvalidOptionError(
      "--layers",
      `--layers ${spec} selects layers inside one probe; a sweep needs layers to train one by one ` +
        '(e.g. "all", "0,4,8" or "sweep:4").',
    );
  }
  return spec;
}

/** `--out DIR` must be a folder or not exist yet (it is created). */
function checkOutDir(dir: string | undefined): void {
  if (dir !== undefined && existsSync(dir) && !statSync(dir).isDirectory())
    throw new InvalidOptionError("--out", `--out ${dir} exists and is not a folder; choose a folder for the report.`);
}

/** Each swept layer's share of a probe trained on all of them together (normalised L2 norms). */
async function layerImportances(
  sweep: LayerSweepResult<Probe>,
  base: ConstructorParameters<typeof Probe>[0],
  train: { prompts: string[]; labels: number[] },
  progress: CliProgress,
): Promise<Map<number, number> | undefined> {
  if (sweep.layers.length < 2) return undefined;
  progress.note(`importance: one probe on all ${sweep.layers.length} swept layers (cached activations)`);
  await using probe = new Probe({ ...base, layers: sweep.layers });
  await probe.fit(train.prompts, train.labels, { onProgress: progress.onProgress });
  const values = probe.computeLayerImportance("l2", true);
  return new Map(sweep.layers.map((layer, i) => [layer, values[i]!]));
}

/** `lmprobe sweep --model M (--data F.jsonl | --positive F --negative F) [options]`. */
export async function sweepCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand({
    args: bareBaselinesFlag(args),
    allowPositionals: true,
    options: OPTIONS,
  });
  const hasData = values.data !== undefined;
  const hasPair = values.positive !== undefined && values.negative !== undefined;
  if (
    positionals.length > 0 ||
    !values.model ||
    hasData === hasPair ||
    (hasData && (values.positive || values.negative)) ||
    (values.test !== undefined && values.split !== undefined)
  ) {
    process.stderr.write(`${HELP.sweep}\n`);
    return 2;
  }
  // Every argument and both files are checked before Python starts.
  const classifier = choiceOption("--classifier", values.classifier, CLASSIFIERS) ?? "logistic_regression";
  const pooling = values.pooling ? poolingSpec(values.pooling) : "last_token";
  const seed = integerOption("--seed", values.seed, { min: 0 }) ?? 0;
  const batchSize = integerOption("--batch-size", values["batch-size"], { min: 1 });
  const layers = sweepLayerSpec(values.layers);
  const split = splitOption(values.split);
  const baselines = baselineList(values.baselines, pooling);
  checkOutDir(values.out);
  const sources: DataSources = {
    ...(values.data ? { data: values.data } : { positive: values.positive!, negative: values.negative! }),
    ...(values.test ? { test: values.test } : { split: split ?? 0.2 }),
  };
  const { train, test } = loadSweepData(sources, seed);

  const progress = new CliProgress(progressMode(process.stderr, values.json ?? false));
  const onProgress = progress.onProgress;
  const call = { onProgress, ...(batchSize !== undefined ? { batchSize } : {}) };
  const runtime = new PythonRuntime();
  const base = { model: values.model, pooling, classifier, randomState: seed, runtime } as const;
  let sweep: LayerSweepResult<Probe> | undefined;
  try {
    await runtime.ready(onProgress);
    sweep = await Probe.sweepLayers({
      ...base,
      layers,
      positivePrompts: train.prompts,
      negativePrompts: train.labels,
      ...call,
    });
    progress.note(
      `evaluate: ${sweep.size} layers on ${train.prompts.length} train and ${test.prompts.length} test prompts`,
    );
    const trainMetrics = await sweep.evaluate(train.prompts, train.labels, call);
    // recall@FPR is a monitoring metric of held-out data: the test split only, binary probes with
    // probabilities only, and a test set holding both classes (else it is undefined, not an error).
    const { model: fitted } = sweep.stateOf(sweep.layers[0]!);
    const monitorable = fitted.classes.length === 2 && hasProba(fitted) && new Set(test.labels).size === 2;
    const fpr = monitorable ? MONITOR_FPR : undefined;
    const testMetrics = await sweep.evaluate(test.prompts, test.labels, { ...call, ...(fpr ? { fpr } : {}) });
    const importances = values["no-importance"] ? undefined : await layerImportances(sweep, base, train, progress);
    const { bestTestLayer, buildSweepResults } = await import("../report/sweep-results.js");
    const bestLayer = bestTestLayer(testMetrics);
    if (baselines && baselines.dropped.length > 0)
      progress.note(`baselines: ${baselines.dropped.join(", ")} left out (they cannot pool with ${String(pooling)})`);
    if (baselines) progress.note(`baselines: ${baselines.names.join(", ")} on the same split`);
    const battery = baselines
      ? await runSweepBaselines({
          names: baselines.names,
          model: values.model,
          layer: bestLayer,
          pooling,
          classifier,
          seed,
          runtime,
          train,
          test,
          call,
        })
      : undefined;
    const { modelInfo } = await import("../report/model-info.js");
    const model = await modelInfo(values.model, { runtime, backend: "local", dtype: "float32" });
    const results = buildSweepResults({
      settings: {
        model: values.model,
        layerSpec: String(values.layers ?? "all"),
        classifier,
        pooling,
        seed,
        data: sources,
        nTrain: train.prompts.length,
        nTest: test.prompts.length,
        ...(batchSize !== undefined ? { batchSize } : {}),
        ...(baselines ? { baselines: baselines.names } : {}),
        ...(fpr ? { fpr } : {}),
      },
      model,
      train: trainMetrics,
      test: testMetrics,
      ...(importances ? { importances } : {}),
      ...(battery ? { baselines: battery } : {}),
    });
    progress.stop();
    if (values.json) out(JSON.stringify(results, null, 2));
    else {
      const color = process.stdout.isTTY === true;
      out(`\n${terminalChart(results, { color, width: Math.min(process.stdout.columns || 80, 120) - 12 })}\n`);
      out(layerTable(results));
      const best = results.bestLayer;
      out(
        `\nbest layer: ${best.layer} (test accuracy ${best.test.accuracy.toFixed(3)}, ` +
          `AUROC ${best.test.auroc?.toFixed(3) ?? "n/a"})`,
      );
      if (results.baselines) out(`\n${baselineTerminalTable(results)}`);
    }
    if (values.out) {
      const { renderReportHtml } = await import("../report/report-html.js");
      mkdirSync(values.out, { recursive: true });
      writeFileSync(join(values.out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
      writeFileSync(join(values.out, "report.html"), renderReportHtml(results));
      // stdout stays one JSON document with --json: the paths go to stderr there.
      const note = `wrote ${join(values.out, "results.json")} and ${join(values.out, "report.html")}`;
      if (values.json) process.stderr.write(`${note}\n`);
      else out(note);
    }
    return 0;
  } finally {
    progress.stop();
    await sweep?.close();
    await runtime.close();
  }
}
