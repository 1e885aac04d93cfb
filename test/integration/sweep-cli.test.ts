/**
 * `lmprobe sweep` as users run it (the built dist/ in a child process) on a tiny model: its JSON
 * is what the library computes for the same split (Probe.sweepLayers + LayerSweepResult.evaluate),
 * --out writes that same JSON and the report, progress is one line per phase off a terminal and
 * absent with --json, and a bad data line fails with its line number before Python starts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, inject, it } from "vitest";
import { loadSweepData } from "../../src/cli/sweep-data.js";
import { BaselineBattery, Probe, PythonRuntime, type ProgressEvent } from "../../src/index.js";
import type { SweepResults } from "../../src/report/sweep-results.js";
import { freshDir } from "../helpers/cache.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const cliPath = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const dir = freshDir("sweep-cli-");
const env = { ...process.env, LMPROBE_CACHE_DIR: join(dir, "cache") };
const data = join(dir, "pets.jsonl");
writeFileSync(
  data,
  [...CATS.map((text) => ({ text, label: 1 })), ...DOGS.map((text) => ({ text, label: 0 }))]
    .map((r) => JSON.stringify(r))
    .join("\n\n"), // blank lines between rows: allowed
);
const runtime = new PythonRuntime();
afterAll(() => runtime.close());

describe("lmprobe sweep", () => {
  it("--json: per-layer metrics, recall@FPR and --baselines equal the library's on one seeded split", async () => {
    const out = join(dir, "report");
    const args = ["sweep", "--model", models.gpt2.path, "--data", data, "--split", "0.3", "--layers", "0,2"];
    // A bare --baselines (followed by another option) runs lmprobe's default battery.
    const result = await execa("node", [cliPath, ...args, "--baselines", "--seed", "3", "--json", "--out", out], {
      env,
      reject: false,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const cli = JSON.parse(result.stdout) as SweepResults;
    // --json is quiet: no progress, only where the files went.
    expect(result.stderr.trim()).toBe(`wrote ${join(out, "results.json")} and ${join(out, "report.html")}`);
    expect(JSON.parse(readFileSync(join(out, "results.json"), "utf8"))).toEqual(cli);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain('id="sweep-results"');

    const { train, test } = loadSweepData({ data, split: 0.3 }, 3);
    expect([cli.settings.nTrain, cli.settings.nTest]).toEqual([train.prompts.length, test.prompts.length]);
    const events: ProgressEvent[] = [];
    await using sweep = await Probe.sweepLayers({
      model: models.gpt2.path,
      layers: [0, 2],
      positivePrompts: train.prompts,
      negativePrompts: train.labels,
      randomState: 3,
      runtime,
      cacheDir: null,
      onProgress: (e) => events.push(e),
    });
    // One "sweep" event per fitted layer, after its fit: what the CLI's per-layer bar counts.
    expect(events.filter((e) => e.type === "sweep")).toEqual([
      { type: "sweep", layer: 0, completed: 1, total: 2 },
      { type: "sweep", layer: 2, completed: 2, total: 2 },
    ]);
    expect(events.findLastIndex((e) => e.type === "fit")).toBeLessThan(events.findLastIndex((e) => e.type === "sweep"));
    const fpr = [0.01, 0.05];
    const [trainMetrics, testMetrics] = [
      await sweep.evaluate(train.prompts, train.labels),
      await sweep.evaluate(test.prompts, test.labels, { fpr }),
    ];
    // evaluate on the sweep (one extraction of all layers) = each layer's own probe evaluated alone.
    const scores = await sweep.score(test.prompts, test.labels);
    for (const layer of [0, 2]) {
      expect(testMetrics.get(layer)).toEqual(await sweep.get(layer).evaluate(test.prompts, test.labels, { fpr }));
      expect(testMetrics.get(layer)).toMatchObject({ accuracy: scores[layer], nEval: test.prompts.length });
    }
    expect(cli.layers.map((l) => l.layer)).toEqual([0, 2]);
    for (const row of cli.layers) {
      expect(row.train).toEqual(trainMetrics.get(row.layer));
      // JSON has no Infinity: the ROC's first threshold (and a "flag nothing" one) is written as null.
      expect(row.test).toEqual(JSON.parse(JSON.stringify(testMetrics.get(row.layer))));
    }
    const bestAccuracy = Math.max(...cli.layers.map((l) => l.test.accuracy));
    expect(cli.bestLayer.layer).toBe(cli.layers.find((l) => l.test.accuracy === bestAccuracy)!.layer);
    // recall@1%/5%FPR on the test split only (a monitoring metric of held-out data).
    expect(cli.settings.fpr).toEqual(fpr);
    for (const row of cli.layers) {
      expect(row.test.recallAtFpr?.map((r) => r.fpr)).toEqual(fpr);
      expect(row.train.recallAtFpr).toBeUndefined();
    }

    // --baselines: the battery on the same split, activation baselines at the best layer, equal to
    // BaselineBattery run by the library (timings aside).
    const names = ["bow", "tfidf", "random", "majority", "sentence_length", "random_direction", "pca", "layer_0"];
    expect(cli.settings.baselines).toEqual(names);
    expect(cli.baselines).toMatchObject({
      layer: cli.bestLayer.layer,
      pooling: "last_token",
      nTest: test.prompts.length,
    });
    await using battery = new BaselineBattery({
      model: models.gpt2.path,
      layers: cli.bestLayer.layer,
      randomState: 3,
      runtime,
      cacheDir: null,
      include: names as never,
    });
    const table = await battery.run(train, test);
    const untimed = (rows: typeof table.rows) => rows.map(({ fitSeconds: _f, predictSeconds: _p, ...r }) => r);
    expect(untimed(cli.baselines!.rows)).toEqual(untimed(table.rows));
    expect(cli.baselines!.rows.map((r) => r.name)).toEqual(names);
    expect(cli.baselines!.skipped).toEqual([]);
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("<h2>Baselines (test set)</h2>");
    expect(html).toContain("<th>test recall@1%FPR</th>");
    const importances = Object.values(cli.layerImportances!.values);
    expect(importances).toHaveLength(2);
    expect(importances.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(cli.model).toMatchObject({ id: models.gpt2.path, revision: null, numLayers: models.gpt2.num_layers });
    expect(cli.model.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(cli.model.identity).toMatchObject({ kind: "local", backend: "local", dtype: "float32" });
  });

  it("--positive/--negative, --test: chart and table on stdout, a progress line per phase on stderr", async () => {
    const positive = join(dir, "cats.txt");
    const negative = join(dir, "dogs.txt");
    const testFile = join(dir, "test.jsonl");
    writeFileSync(positive, CATS.slice(0, 7).join("\n"));
    writeFileSync(negative, DOGS.slice(0, 7).join("\n"));
    writeFileSync(
      testFile,
      [...CATS.slice(7).map((text) => ({ text, label: 1 })), ...DOGS.slice(7).map((text) => ({ text, label: 0 }))]
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    const result = await execa(
      "node",
      [
        cliPath,
        "sweep",
        "--model",
        models.gpt2.path,
        "--positive",
        positive,
        "--negative",
        negative,
        "--test",
        testFile,
      ].concat("--no-importance", "--baselines", "majority,bow"),
      { env, reject: false },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const layers = Array.from({ length: models.gpt2.num_layers }, (_, i) => i);
    expect(result.stdout).toContain("accuracy per layer (test set; * best layer)");
    const rows = result.stdout.split("\n").filter((l) => /^\s+\d+\s+[01]\.\d{3}\s/.test(l));
    expect(rows.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(layers);
    expect(rows.filter((l) => l.endsWith("<- best"))).toHaveLength(1);
    expect(result.stdout).toMatch(/best layer: \d+ \(test accuracy [01]\.\d{3}, AUROC/);
    // Text baselines only: no activation layer; majority guesses one class of the balanced test set.
    expect(result.stdout).toContain("\nbaselines (test set):\n");
    expect(result.stdout).toMatch(/\nprobe \(layer \d+\)\s+probe\s+[01]\.\d{3}/);
    expect(result.stdout).toMatch(/\nbow\s+text\s+[01]\.\d{3}\s+/);
    expect(result.stdout).toMatch(/\nmajority\s+text\s+0\.500\s+0\.500\n?/);
    // Not a terminal: one line per phase (no bar redraws), each sweep phase present.
    expect(result.stderr).not.toContain("\r");
    for (const line of ["worker: ready", "extract: 14/14 prompts done", `fit layers: ${layers.length}/`, "evaluate: "])
      expect(result.stderr).toContain(line);
    expect(result.stderr).not.toContain("importance:");
  });

  it("a --test set of one class: no recall@FPR (undefined there) instead of a failed sweep", async () => {
    const cats = join(dir, "cats-only.jsonl");
    writeFileSync(
      cats,
      CATS.slice(7)
        .map((text) => JSON.stringify({ text, label: 1 }))
        .join("\n"),
    );
    const args = ["sweep", "--model", models.gpt2.path, "--data", data, "--test", cats, "--layers", "0"];
    const result = await execa("node", [cliPath, ...args, "--no-importance", "--json"], { env, reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    const cli = JSON.parse(result.stdout) as SweepResults;
    expect(cli.settings.fpr).toBeUndefined();
    expect(cli.layers[0]!.test).toMatchObject({ nEval: 3, auroc: null });
    expect(cli.layers[0]!.test.recallAtFpr).toBeUndefined();
  });

  it("a bad line of --data or --test fails with the file and line number, before Python starts", async () => {
    const noPython = { ...env, LMPROBE_PYTHON: "/nonexistent/python3" };
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '{"text": "a", "label": 1}\n\n{"text": "b", "label": "zero"}\n');
    for (const flags of [
      ["--data", bad],
      ["--data", data, "--test", bad],
    ]) {
      const result = await execa("node", [cliPath, "sweep", "--model", "m", ...flags], {
        env: noPython,
        reject: false,
      });
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(
        `DataFileError [INVALID_INPUT]: ${flags.at(-2)} ${bad}:3: "label" must be a number`,
      );
      expect(result.stderr).not.toContain("PythonEnvError");
    }
  });
});
