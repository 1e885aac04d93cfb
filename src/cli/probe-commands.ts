/**
 * `lmprobe train` and `lmprobe predict`: a probe from prompt files to a saved folder, and
 * predictions (plus metrics when labels are given) from a saved folder.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { CLASSIFIERS, isLayerSpec, type LayerSpec, type ProbeOptions } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";
import { isPooling, type Pooling } from "../estimator/pooling.js";
import { Probe } from "../probe/probe.js";
import { hasProba } from "../estimator/scoring.js";
import { choiceOption, integerOption, parseCommand } from "./args.js";
import { readPromptFile } from "./data-file.js";
import { CliProgress, progressMode } from "./progress.js";
import { HELP } from "./usage.js";

/** A `--pooling` value, checked before Python starts. */
export function poolingSpec(value: string): Pooling {
  if (!isPooling(value)) {
    throw new InvalidOptionError(
      "--pooling",
      `--pooling ${JSON.stringify(value)} is not a pooling (see lmprobe train --help).`,
    );
  }
  return value;
}

/** A `--layers` value: an index, a comma list, or a named spec, checked before Python starts. */
export function layerSpec(value: string | undefined): LayerSpec | undefined {
  if (value === undefined) return undefined;
  if (/^-?\d+$/.test(value)) return Number(value);
  if (/^-?\d+(,-?\d+)+$/.test(value)) return value.split(",").map(Number);
  if (!isLayerSpec(value)) {
    throw new InvalidOptionError(
      "--layers",
      `--layers ${JSON.stringify(value)} is not a layer spec (see lmprobe train --help).`,
    );
  }
  return value;
}

/**
 * Saving replaces the whole target folder: refuse a folder that is not a saved probe (it would be
 * deleted), and a saved probe unless `--force` says to replace it.
 */
function checkTarget(target: string, force: boolean): void {
  if (!existsSync(target)) return;
  const isProbe = statSync(target).isDirectory() && existsSync(join(target, "probe.json"));
  if (!isProbe && !(statSync(target).isDirectory() && readdirSync(target).length === 0)) {
    throw new InvalidOptionError(
      "OUT_DIR",
      `${target} exists and is not a saved probe; saving would replace it. Choose a new folder.`,
    );
  }
  if (isProbe && !force) {
    throw new InvalidOptionError(
      "--force",
      `${target} already holds a saved probe; pass --force to replace it, or choose another folder.`,
    );
  }
}

/** `lmprobe train OUT --model M (--data F.jsonl | --positive P --negative N) [options]`. */
export async function trainCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand({
    args,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      layers: { type: "string" },
      pooling: { type: "string" },
      classifier: { type: "string" },
      task: { type: "string" },
      data: { type: "string" },
      positive: { type: "string" },
      negative: { type: "string" },
      "random-state": { type: "string" },
      "batch-size": { type: "string" },
      force: { type: "boolean" },
    },
  });
  const target = positionals[0];
  if (
    !target ||
    positionals.length > 1 ||
    !values.model ||
    !(values.data || (values.positive && values.negative)) ||
    (values.data && (values.positive || values.negative))
  ) {
    process.stderr.write(`${HELP.train}\n`);
    return 2;
  }
  // Every argument is checked before the probe (and with it Python) starts.
  const classifier = choiceOption("--classifier", values.classifier, CLASSIFIERS);
  const task = choiceOption("--task", values.task, ["classification", "regression"] as const);
  const randomState = integerOption("--random-state", values["random-state"], { min: 0 });
  const batchSize = integerOption("--batch-size", values["batch-size"], { min: 1 });
  checkTarget(target, values.force ?? false);
  const options: ProbeOptions = {
    model: values.model,
    ...(values.layers ? { layers: layerSpec(values.layers)! } : {}),
    ...(values.pooling ? { pooling: poolingSpec(values.pooling) } : {}),
    ...(classifier ? { classifier } : {}),
    ...(task ? { task } : {}),
    ...(randomState !== undefined ? { randomState } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
  };
  // The constructor validates the options (layers, pooling...) without starting Python.
  await using probe = new Probe(options);
  const data = values.data ? readPromptFile(values.data, "--data", { requireLabels: true }) : undefined;
  const positive = values.positive ? readPromptFile(values.positive, "--positive").prompts : [];
  const negative = values.negative ? readPromptFile(values.negative, "--negative").prompts : [];
  const progress = new CliProgress(progressMode(process.stderr));
  try {
    if (data) await probe.fit(data.prompts, data.labels!, { onProgress: progress.onProgress });
    else await probe.fit(positive, negative, { onProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
  await probe.save(target);
  const kind = probe.options.task === "regression" ? "regression" : `classes ${probe.classes.join(",")}`;
  out(`saved ${target}: layers ${probe.layers.join(",")}, ${kind}`);
  return 0;
}

/** `lmprobe predict PROBE_DIR (--data F | PROMPT...) [--json]`: one line per prompt, then metrics if labelled. */
export async function predictCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand({
    args,
    allowPositionals: true,
    options: { data: { type: "string" }, json: { type: "boolean" } },
  });
  const [path, ...texts] = positionals;
  if (!path || (!values.data && texts.length === 0) || (values.data && texts.length > 0)) {
    process.stderr.write(`${HELP.predict}\n`);
    return 2;
  }
  const { prompts, labels } = values.data
    ? readPromptFile(values.data, "--data")
    : { prompts: texts, labels: undefined };
  await using probe = await Probe.load(path);
  // A loaded probe's pooling is known only at run time: inferencePooling "all" gives rows per token.
  // --json keeps stderr quiet too: the output is for programs.
  const progress = new CliProgress(progressMode(process.stderr, values.json ?? false));
  const predicted = await probe.predict(prompts, { onProgress: progress.onProgress }).finally(() => progress.stop());
  const proba =
    probe.options.task === "classification" && hasProba(probe.fittedState.model)
      ? await probe.predictProba(prompts)
      : undefined;
  const metrics = labels ? await probe.evaluate(prompts, labels) : undefined;
  if (values.json) {
    out(
      JSON.stringify({
        predictions: prompts.map((text, i) => ({
          text,
          prediction: predicted[i],
          ...(proba ? { proba: proba[i] } : {}),
        })),
        ...(metrics ? { metrics } : {}),
      }),
    );
    return 0;
  }
  prompts.forEach((text, i) => out(`${cell(predicted[i]!)}\t${proba ? probabilities(proba[i]!) + "\t" : ""}${text}`));
  if (metrics)
    out(
      Object.entries(metrics)
        .map(([k, v]) => `${k}: ${typeof v === "number" ? Number(v.toFixed(6)) : JSON.stringify(v)}`)
        .join("\n"),
    );
  return 0;
}

/** A prediction cell: a label, or (inference pooling "all") one label per token. */
const cell = (value: number | number[]): string => (Array.isArray(value) ? value.join(",") : String(value));

/** A probability row, or (inference pooling "all") one row per token, separated by " | ". */
function probabilities(row: number[] | number[][]): string {
  const format = (r: number[]) => r.map((p) => p.toFixed(4)).join(" ");
  return row.every((v): v is number => typeof v === "number")
    ? format(row)
    : row.map((r) => (Array.isArray(r) ? format(r) : String(r))).join(" | ");
}
