/**
 * The command line's data files and progress, without Python: JSONL errors name the file and the
 * line (blank lines counted, as editors count them), the sweep's split is seeded and stratified,
 * and progress events become bars on a terminal, lines elsewhere, nothing when quiet.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { DataFileError, readPromptFile } from "../../src/cli/data-file.js";
import { CliProgress, progressMode } from "../../src/cli/progress.js";
import { loadSweepData, splitOption, stratifiedSplit } from "../../src/cli/sweep-data.js";
import { InvalidInputError, InvalidOptionError, type ProgressEvent } from "../../src/index.js";
import { freshDir } from "../helpers/cache.js";

function file(name: string, text: string): string {
  const path = join(freshDir("cli-data-"), name);
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): DataFileError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DataFileError) return err;
    throw err;
  }
  throw new Error("expected a DataFileError");
}

describe("prompt files", () => {
  it("reads JSONL prompts and labels, skipping blank lines; plain text is one prompt per line", () => {
    const jsonl = file("d.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b", "label": 0}\r\n');
    expect(readPromptFile(jsonl, "--data", { requireLabels: true })).toEqual({ prompts: ["a", "b"], labels: [1, 0] });
    expect(readPromptFile(file("p.txt", "one\n\ntwo\n"), "--positive")).toEqual({ prompts: ["one", "two"] });
    // Labels on only some lines: prompts without labels (predict then prints no metrics).
    expect(readPromptFile(file("m.jsonl", '{"text": "a", "label": 1}\n{"text": "b"}\n'), "--data")).toEqual({
      prompts: ["a", "b"],
    });
  });

  it.each([
    ['{"text": "a", "label": 1}\n\n{"text": "b", "label": 0\n', 3, /is not a JSON object/],
    ['{"text": "a", "label": 1}\n[1, 2]\n', 2, /is not a JSON object/],
    ['{"label": 1}\n', 1, /has no "text" string/],
    ['{"text": "a", "label": 1}\n{"text": "", "label": 0}\n', 2, /has no "text" string/],
    ['{"text": "a", "label": 1}\n\n\n{"text": "b"}\n', 4, /has no "label"/],
    ['{"text": "a", "label": "yes"}\n', 1, /"label" must be a number, got "yes"/],
    ['{"text": "a", "label": 0.5}\n', 1, /"label" must be a class number/],
    ['{"text": "a", "label": -1}\n', 1, /"label" must be a class number/],
  ])("a bad line is a DataFileError with its line number: %j", (text, line, message) => {
    const path = file("bad.jsonl", text);
    const err = errorOf(() => readPromptFile(path, "--data", { requireLabels: true, integerLabels: true }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.code).toBe("INVALID_INPUT");
    expect(err.argument).toBe("--data");
    expect(err.path).toBe(path);
    expect(err.line).toBe(line);
    expect(err.message).toContain(`${path}:${line}: `);
    expect(err.message).toMatch(message);
  });

  it("a missing or empty file is a DataFileError naming the option and the file", () => {
    const missing = errorOf(() => readPromptFile("/nonexistent/x.jsonl", "--test"));
    expect(missing.message).toMatch(/^--test \/nonexistent\/x\.jsonl: cannot be read \(ENOENT\)/);
    expect(missing.line).toBeUndefined();
    expect(errorOf(() => readPromptFile(file("e.jsonl", "\n\n"), "--data")).message).toMatch(/has no prompts/);
  });
});

describe("the sweep's train/test split", () => {
  const all = {
    prompts: Array.from({ length: 30 }, (_, i) => `p${i}`),
    labels: Array.from({ length: 30 }, (_, i) => (i < 20 ? 0 : 1)),
  };

  it("holds out the fraction of each class, the same for one seed, another for another seed", () => {
    const { train, test } = stratifiedSplit(all, 0.2, 0);
    expect(test.labels.filter((l) => l === 0)).toHaveLength(4);
    expect(test.labels.filter((l) => l === 1)).toHaveLength(2);
    expect(train.prompts).toHaveLength(24);
    expect(new Set([...train.prompts, ...test.prompts]).size).toBe(30);
    // Labels travel with their prompts.
    for (const set of [train, test])
      set.prompts.forEach((p, i) => expect(set.labels[i]).toBe(Number(p.slice(1)) < 20 ? 0 : 1));
    expect(stratifiedSplit(all, 0.2, 0)).toEqual({ train, test });
    expect(stratifiedSplit(all, 0.2, 1).test.prompts).not.toEqual(test.prompts);
  });

  it("keeps at least one prompt of each class on both sides", () => {
    const tiny = { prompts: ["a", "b", "c", "d"], labels: [0, 0, 1, 1] };
    const { train, test } = stratifiedSplit(tiny, 0.01, 3);
    expect(new Set(test.labels)).toEqual(new Set([0, 1]));
    expect(new Set(train.labels)).toEqual(new Set([0, 1]));
  });

  it("--split must be a fraction; --positive/--negative become labels 1 and 0", () => {
    expect(splitOption("0.25")).toBe(0.25);
    for (const bad of ["0", "1", "1.5", "-0.2", "abc", "20%"])
      expect(() => splitOption(bad)).toThrow(InvalidOptionError);
    const positive = file("pos.txt", "yes 1\nyes 2\nyes 3\n");
    const negative = file("neg.txt", "no 1\nno 2\nno 3\n");
    const { train, test } = loadSweepData({ positive, negative, split: 0.34 }, 0);
    expect(test.prompts).toHaveLength(2);
    for (const set of [train, test])
      set.prompts.forEach((p, i) => expect(set.labels[i]).toBe(p.startsWith("yes") ? 1 : 0));
  });
});

describe("CLI progress", () => {
  const events: ProgressEvent[] = [
    { type: "worker", phase: "starting" },
    { type: "worker", phase: "ready", pid: 42 },
    { type: "model", phase: "loading", model: "m" },
    { type: "model", phase: "loaded", model: "m" },
    { type: "extract", completed: 16, total: 40, tokens: 100 },
    { type: "extract", completed: 32, total: 40, tokens: 200 },
    { type: "extract", completed: 40, total: 40, tokens: 250 },
    { type: "fit", phase: "start" },
    { type: "fit", phase: "done" },
    { type: "sweep", layer: 0, completed: 1, total: 2 },
    { type: "fit", phase: "start" },
    { type: "fit", phase: "done" },
    { type: "sweep", layer: 4, completed: 2, total: 2 },
    { type: "extract", completed: 40, total: 40, tokens: 0, cached: 40 },
  ];

  function run(mode: "bars" | "lines" | "quiet", isTTY: boolean): string {
    const stream = Object.assign(new PassThrough(), { isTTY, columns: 100 });
    let text = "";
    stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const progress = new CliProgress(mode, stream);
    for (const e of events) progress.onProgress(e);
    progress.stop();
    return text;
  }

  it("picks bars on a terminal, lines elsewhere, nothing when quiet or LMPROBE_PROGRESS=0", () => {
    expect(progressMode({ write: () => true, isTTY: true }, false, {})).toBe("bars");
    expect(progressMode({ write: () => true }, false, {})).toBe("lines");
    expect(progressMode({ write: () => true, isTTY: true }, true, {})).toBe("quiet");
    expect(progressMode({ write: () => true, isTTY: true }, false, { LMPROBE_PROGRESS: "0" })).toBe("quiet");
  });

  it("lines: one line per phase, an extraction's start and end, each sweep phase once", () => {
    expect(run("lines", false).trimEnd().split("\n")).toEqual([
      "worker: starting Python",
      "worker: ready (pid 42)",
      "model: loading m",
      "model: loaded m",
      "extract: 40 prompts...",
      "extract: 40/40 prompts done",
      "fit: training the classifier",
      "fit layers: 2 layers...",
      "fit layers: 2/2 layers done (layer 4)",
      "extract: 40/40 prompts done (40 cached)",
    ]);
  });

  it("bars: live bars with counts for extraction and the per-layer fits, phase lines above them", () => {
    const text = run("bars", true);
    expect(text).toContain("worker: ready (pid 42)");
    expect(text).toMatch(/extract\s+\S+ 40\/40 prompts/);
    expect(text).toMatch(/fit layers\s+\S+ 2\/2 layers layer 4/);
    expect(text).toContain("40 cached");
    expect(text).toContain("\u001b[1G"); // redrawn in place (cursor back to column 1), not appended
  });

  it("quiet: nothing; a throwing stream never reaches the caller", () => {
    expect(run("quiet", true)).toBe("");
    const broken = new CliProgress("lines", {
      write: () => {
        throw new Error("EPIPE");
      },
    });
    expect(() => events.forEach((e) => broken.onProgress(e))).not.toThrow();
  });
});
