/** The `lmprobe` command, run as users run it (the built dist/ in a child process). */
import { execa } from "execa";
import { describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime } from "../../src/index.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CATS, DOGS } from "../helpers/prompts.js";
import { freshDir } from "../helpers/cache.js";

const models = inject("tinyModels");
const cliPath = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const cli = (...args: string[]) => execa("node", [cliPath, ...args], { reject: false });

describe("lmprobe CLI", () => {
  it("setup reuses an up-to-date environment in well under a second", async () => {
    const started = Date.now();
    const result = await cli("setup");
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000); // includes Node's own start-up
    expect(result.stderr).toMatch(/ready: .*python \(0\.\d\d s\)/);
  });

  it("env --json reports the interpreter and package versions", async () => {
    const result = await cli("env", "--json");
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { executable: string; versions: Record<string, string>; protocol: number };
    expect(report.executable).toContain("python");
    expect(Object.keys(report.versions)).toEqual(expect.arrayContaining(["torch", "transformers", "sklearn"]));
  });

  it("cache info, prune and clear", async () => {
    const dir = freshDir();
    await using runtime = new PythonRuntime();
    const probe = new Probe({ model: models.gpt2.path, layers: [0, 1], cacheDir: dir, runtime });
    await probe.warmup(CATS);
    await probe.close();
    const info = JSON.parse((await cli("cache", "info", "--json", "--dir", dir)).stdout) as { models: Array<{ model: string; entries: number; layers: number }> };
    expect(info.models).toMatchObject([{ model: models.gpt2.path, entries: 20, layers: 2 }]);
    expect((await cli("cache", "prune", "--max-gb", "0", "--dir", dir)).stdout).toContain("removed 20");
    await probe.warmup(CATS);
    await probe.close();
    expect((await cli("cache", "clear", "--model", models.gpt2.path, "--dir", dir)).stdout).toContain("removed 20");
    expect((await cli("cache", "prune", "--dir", dir)).stderr).toContain("--max-gb");
    expect((await cli("bogus")).exitCode).toBe(2);
  });

  it("train saves a probe from a JSONL file; predict prints labels, probabilities and metrics", async () => {
    const dir = freshDir();
    const data = join(dir, "train.jsonl");
    writeFileSync(data, [...CATS.map((text) => ({ text, label: 1 })), ...DOGS.map((text) => ({ text, label: 0 }))].map((r) => JSON.stringify(r)).join("\n"));
    const env = { ...process.env, LMPROBE_CACHE_DIR: join(dir, "cache") };
    const trained = await execa("node", [cliPath, "train", join(dir, "probe"), "--model", models.gpt2.path, "--layers", "0,2", "--classifier", "lda", "--data", data, "--random-state", "0"], { reject: false, env });
    expect(trained.exitCode, trained.stderr).toBe(0);
    expect(trained.stdout).toContain("layers 0,2, classes 0,1");
    const predicted = await execa("node", [cliPath, "predict", join(dir, "probe"), "--data", data, "--json"], { reject: false, env });
    expect(predicted.exitCode, predicted.stderr).toBe(0);
    const report = JSON.parse(predicted.stdout) as { predictions: Array<{ prediction: number; proba: number[] }>; metrics: { accuracy: number; nEval: number } };
    expect(report.predictions).toHaveLength(20);
    expect(report.metrics.nEval).toBe(20);
    expect(report.metrics.accuracy).toBe(report.predictions.filter((p, i) => p.prediction === (i < 10 ? 1 : 0)).length / 20);
    const usage = await execa("node", [cliPath, "train"], { reject: false });
    expect(usage.exitCode).toBe(2);
  });
});
