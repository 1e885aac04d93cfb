/**
 * NativeProbe on embedded:smollm2-135m (the one embedded-model native test: one export, layer 16,
 * the benchmark setting): probabilities within 1e-4 of the worker's, identical labels,
 * for every inference pooling the native runtime runs, and per-token scores.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Probe, PythonRuntime, type InferencePooling } from "../../src/index.js";
import { NativeProbe } from "../../src/native/index.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const runtime = new PythonRuntime();
const root = mkdtempSync(join(tmpdir(), "native-embedded-"));
const common = { model: "embedded:smollm2-135m", layers: [16], trainPooling: "mean" as const, randomState: 0 };
const EVAL = ["x", "The cat sat on the mat.", "A dog!", "Emoji 🙂 and café\t\n", "中文字符", CATS[9]!, DOGS[9]!];
const POOLINGS: InferencePooling[] = ["last_token", "first_token", "mean", "max", "min"];
const maxAbsDiff = (a: number[][], b: number[][]) =>
  Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));
let native: NativeProbe;
let dir = "";

beforeAll(async () => {
  const probe = new Probe({ ...common, pooling: "mean", runtime });
  await probe.fit(CATS, DOGS);
  const exported = await probe.exportNative(join(root, "smollm2"));
  console.info(`export: ${exported.seconds.total.toFixed(1)} s, ONNX ${(exported.onnxBytes / 2 ** 20).toFixed(0)} MiB`);
  dir = exported.path;
  native = await NativeProbe.load(dir);
}, 900_000);
afterAll(async () => {
  await native?.close();
  await runtime.close();
  rmSync(root, { recursive: true, force: true });
});

describe("native vs worker on embedded:smollm2-135m, layer 16", () => {
  it.each(POOLINGS.map((p) => [p]))("inference pooling %s: probabilities within 1e-4, same labels", async (pooling) => {
    const python = new Probe({ ...common, pooling: "mean", inferencePooling: pooling, runtime });
    await python.fit(CATS, DOGS); // cached activations: the exported probe's state
    await using pooled = await NativeProbe.load(dir, { inferencePooling: pooling });
    const [py, nat] = [(await python.predictProba(EVAL)) as number[][], await pooled.predictProba(EVAL)];
    console.info(`smollm2 ${pooling}: max |Δp| ${maxAbsDiff(py, nat).toExponential(2)}`);
    expect(maxAbsDiff(py, nat)).toBeLessThan(1e-4);
    expect(await pooled.predict(EVAL)).toEqual(await python.predict(EVAL));
  });

  it("per-token scores match the worker's inference pooling 'all'", async () => {
    const python = new Probe({ ...common, pooling: "mean", inferencePooling: "all", runtime });
    await python.fit(CATS, DOGS);
    const py = await python.predictProba(EVAL);
    const tokens = await native.scoreTokens(EVAL);
    tokens.forEach((t, i) => expect(maxAbsDiff(py[i]!, t.proba!)).toBeLessThan(1e-4));
  });
});
