/**
 * NativeProbe (onnxruntime + tokenizers.js + the TypeScript scoring) predicts what the same probe
 * predicts through the Python worker: probabilities within 1e-4, identical labels, on the three
 * tiny test models (llama pads left, gpt2 and gpt_neox pad right) and for every inference
 * pooling the native runtime runs: last_token, first_token, mean, and score-level max/min (with
 * their per-token scores). One real export per model (probe.exportNative); the other poolings
 * load that folder with `inferencePooling` and are compared with a Python probe fitted with that
 * inference pooling on the same (cached) activations.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime, type InferencePooling } from "../../src/index.js";
import { NativeProbe } from "../../src/native/index.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
const root = mkdtempSync(join(tmpdir(), "native-parity-"));
afterAll(async () => {
  await runtime.close();
  rmSync(root, { recursive: true, force: true });
});

// Lengths from one token to a few dozen (every batch of 8 is padded), odd characters included.
const EVAL = [
  "x",
  "The cat sat on the mat.",
  "A dog!",
  "Emoji 🙂 and café, naïve résumé",
  "  spaces   and\ttabs\n",
  "Paris is the capital of France. The quick brown fox jumps over the lazy dog. 1 2 3 4 5 6 7 8 9 0",
  "中文字符 and 日本語",
  ...CATS.slice(0, 5),
  ...DOGS.slice(0, 5),
];
const LABELS = [1, 1, 0, 1, 0, 0, 1, ...CATS.slice(0, 5).map(() => 1), ...DOGS.slice(0, 5).map(() => 0)];
const POOLINGS: InferencePooling[] = ["last_token", "first_token", "mean", "max", "min"];
const maxAbsDiff = (a: number[][], b: number[][]) =>
  Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));

describe.each(["llama", "gpt2", "gpt_neox"] as const)("native vs worker on the tiny %s", (name) => {
  const common = () => ({ model: models[name].path, layers: [1, 2], trainPooling: "mean" as const, randomState: 0 });
  let dir = "";

  beforeAll(async () => {
    const probe = new Probe({ ...common(), pooling: "mean", runtime });
    await probe.fit(CATS, DOGS);
    dir = (await probe.exportNative(join(root, name))).path;
  }, 300_000);

  it.each(POOLINGS.map((p) => [p]))("inference pooling %s: probabilities within 1e-4, same labels", async (pooling) => {
    const python = new Probe({ ...common(), pooling: "mean", inferencePooling: pooling, runtime });
    await python.fit(CATS, DOGS); // the cached activations of the exported probe's fit: the same state
    await using native = await NativeProbe.load(dir, { inferencePooling: pooling });
    const [pyProba, natProba] = [(await python.predictProba(EVAL)) as number[][], await native.predictProba(EVAL)];
    console.info(`${name} ${pooling}: max |Δp| ${maxAbsDiff(pyProba, natProba).toExponential(2)}`);
    expect(natProba).toHaveLength(EVAL.length);
    expect(maxAbsDiff(pyProba, natProba)).toBeLessThan(1e-4);
    expect(await native.predict(EVAL)).toEqual(await python.predict(EVAL));
    expect(await native.score(EVAL, LABELS)).toBeCloseTo(await python.score(EVAL, LABELS), 12);
    const [pyEval, natEval] = [await python.evaluate(EVAL, LABELS), await native.evaluate(EVAL, LABELS)];
    expect(natEval).toMatchObject({ task: "classification", nEval: EVAL.length, evalHash: pyEval.evalHash });
    if (natEval.task === "classification" && pyEval.task === "classification") {
      expect(natEval.accuracy).toBe(pyEval.accuracy);
      expect(natEval.auroc!).toBeCloseTo(pyEval.auroc!, 4);
    }
  });

  it("per-token scores match the worker's inference pooling 'all', and reduce to the max pooling", async () => {
    const python = new Probe({ ...common(), pooling: "mean", inferencePooling: "all", runtime });
    await python.fit(CATS, DOGS);
    await using native = await NativeProbe.load(dir, { inferencePooling: "max" });
    const tokens = await native.scoreTokens(EVAL);
    const pyTokens = await python.predictProba(EVAL);
    tokens.forEach((t, i) => {
      expect(t.tokenIds).toEqual(native.tokenize(EVAL[i]!));
      expect(t.proba).toHaveLength(t.tokenIds.length);
      expect(maxAbsDiff(pyTokens[i]!, t.proba!)).toBeLessThan(1e-4);
    });
    const maxPooled = await native.predictProba(EVAL);
    tokens.forEach((t, i) => expect(maxPooled[i]![1]).toBeCloseTo(Math.max(...t.proba!.map((r) => r[1]!)), 12));
  });

  it("batches like the worker: batch size 1 matches the worker's batch size 1", async () => {
    const python = new Probe({ ...common(), pooling: "mean", batchSize: 1, runtime });
    await python.fit(CATS, DOGS);
    await using native = await NativeProbe.load(dir, { batchSize: 1 });
    // Left padding (llama) moves real tokens' positions, so batch composition matters; both sides batch alike.
    expect(maxAbsDiff(await python.predictProba(EVAL), await native.predictProba(EVAL))).toBeLessThan(1e-4);
  });
});
