/**
 * `lmprobe train` and `lmprobe predict`: a probe from prompt files to a saved folder, and
 * predictions (plus metrics when labels are given) from a saved folder.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { LayerSpec, ProbeOptions } from "../config/probe-options.js";
import { InvalidInputError } from "../errors.js";
import { Probe } from "../probe/probe.js";
import { hasProba } from "../estimator/scoring.js";
import type { ProgressEvent } from "../types.js";

/** Prompts (and labels when present) from a JSONL file of {"text", "label"} or a text file, one prompt per line. */
function readPrompts(path: string): { prompts: string[]; labels?: number[] } {
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "");
  if (!path.endsWith(".jsonl")) return { prompts: lines };
  const rows = lines.map((line, i) => {
    try {
      return JSON.parse(line) as { text?: unknown; label?: unknown };
    } catch {
      throw new InvalidInputError("--data", `${path}:${i + 1} is not valid JSON: each line must be {"text": "...", "label": 0}.`);
    }
  });
  const prompts = rows.map((r, i) => {
    if (typeof r.text !== "string") throw new InvalidInputError("--data", `${path}:${i + 1} has no "text" string.`);
    return r.text;
  });
  const labelled = rows.every((r) => typeof r.label === "number");
  return labelled ? { prompts, labels: rows.map((r) => r.label as number) } : { prompts };
}

function layerSpec(value: string | undefined): LayerSpec | undefined {
  if (value === undefined) return undefined;
  if (/^-?\d+$/.test(value)) return Number(value);
  if (/^-?\d+(,-?\d+)+$/.test(value)) return value.split(",").map(Number);
  return value as LayerSpec;
}

const progress = (e: ProgressEvent) => {
  if (e.type === "extract") process.stderr.write(`\r[extract] ${e.completed}/${e.total}${e.completed === e.total ? "\n" : ""}`);
  else if (e.type === "model" && e.phase === "loaded") process.stderr.write(`[model] loaded ${e.model}\n`);
};

/** `lmprobe train OUT --model M (--data F.jsonl | --positive P --negative N) [options]`. */
export async function trainCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
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
    },
  });
  const target = positionals[0];
  if (!target || !values.model || !(values.data || (values.positive && values.negative))) {
    process.stderr.write("Usage: lmprobe train OUT_DIR --model M (--data FILE.jsonl | --positive FILE --negative FILE) [--layers L] [--pooling P] [--classifier C] [--task T] [--random-state N] [--batch-size N]\n");
    return 2;
  }
  const options: ProbeOptions = {
    model: values.model,
    ...(values.layers ? { layers: layerSpec(values.layers)! } : {}),
    ...(values.pooling ? { pooling: values.pooling as ProbeOptions["pooling"] } : {}),
    ...(values.classifier ? { classifier: values.classifier as ProbeOptions["classifier"] } : {}),
    ...(values.task ? { task: values.task as ProbeOptions["task"] } : {}),
    ...(values["random-state"] ? { randomState: Number(values["random-state"]) } : {}),
    ...(values["batch-size"] ? { batchSize: Number(values["batch-size"]) } : {}),
  };
  await using probe = new Probe(options);
  if (values.data) {
    const { prompts, labels } = readPrompts(values.data);
    if (!labels) throw new InvalidInputError("--data", `${values.data} needs a numeric "label" on every line.`);
    await probe.fit(prompts, labels, { onProgress: progress });
  } else {
    await probe.fit(readPrompts(values.positive!).prompts, readPrompts(values.negative!).prompts, { onProgress: progress });
  }
  await probe.save(target);
  out(`saved ${target}: layers ${probe.layers.join(",")}, ${probe.options.task === "regression" ? "regression" : `classes ${probe.classes.join(",")}`}`);
  return 0;
}

/** `lmprobe predict PROBE_DIR (--data F | PROMPT...) [--json]`: one line per prompt, then metrics if labelled. */
export async function predictCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { data: { type: "string" }, json: { type: "boolean" } } });
  const [path, ...texts] = positionals;
  if (!path || (!values.data && texts.length === 0)) {
    process.stderr.write("Usage: lmprobe predict PROBE_DIR (--data FILE | PROMPT...) [--json]\n");
    return 2;
  }
  const { prompts, labels } = values.data ? readPrompts(values.data) : { prompts: texts, labels: undefined };
  await using probe = await Probe.load(path);
  const predicted = (await probe.predict(prompts, { onProgress: progress })) as number[];
  const proba = probe.options.task === "classification" && hasProba(probe.fittedState.model) ? ((await probe.predictProba(prompts)) as number[][]) : undefined;
  const metrics = labels ? await probe.evaluate(prompts, labels) : undefined;
  if (values.json) {
    out(JSON.stringify({ predictions: prompts.map((text, i) => ({ text, prediction: predicted[i], ...(proba ? { proba: proba[i] } : {}) })), ...(metrics ? { metrics } : {}) }));
    return 0;
  }
  prompts.forEach((text, i) => out(`${predicted[i]}\t${proba ? proba[i]!.map((p) => p.toFixed(4)).join(" ") + "\t" : ""}${text}`));
  if (metrics) out(Object.entries(metrics).map(([k, v]) => `${k}: ${typeof v === "number" ? Number(v.toFixed(6)) : JSON.stringify(v)}`).join("\n"));
  return 0;
}
