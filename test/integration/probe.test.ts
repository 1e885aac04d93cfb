/** The whole path through the real worker: options → ZeroMQ → transformers + sklearn → TypeScript scoring. */
import { afterAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime } from "../../src/index.js";
import type { LinearModelState } from "../../src/index.js";
import { CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());

describe.each(["llama", "gpt2", "gpt_neox"] as const)("Probe on a tiny %s", (family) => {
  const model = models[family].path;

  it("fits contrastively and predicts with probabilities that sum to one", async () => {
    const probe = new Probe({ model, layers: -1, randomState: 0, runtime });
    await probe.fit(CATS, DOGS);
    expect(probe.classes).toEqual([0, 1]);
    expect(probe.layers).toEqual([models[family].num_layers - 1]);
    expect(probe.selectedLayers).toBeUndefined(); // lmprobe: selected_layers_ is set by auto/fast_auto only
    expect(await probe.score([...CATS, ...DOGS], [...CATS.map(() => 1), ...DOGS.map(() => 0)])).toBeGreaterThanOrEqual(
      0.9,
    );
    const proba = await probe.predictProba(TEST_PROMPTS);
    expect(proba).toHaveLength(TEST_PROMPTS.length);
    for (const row of proba) {
      expect(row).toHaveLength(2);
      expect(row[0]! + row[1]!).toBeCloseTo(1, 12);
    }
    const labels = await probe.predict(TEST_PROMPTS);
    expect(labels).toEqual(proba.map((r) => (r[1]! > r[0]! ? 1 : 0)));
  });

  it("fits labelled data on several layers with each pooling", async () => {
    for (const pooling of ["last_token", "first_token", "mean"] as const) {
      const probe = new Probe({ model, layers: "all", pooling, randomState: 1, runtime });
      await probe.fit([...CATS, ...DOGS], [...CATS.map(() => 1), ...DOGS.map(() => 0)]);
      expect(probe.layers).toHaveLength(models[family].num_layers);
      expect(probe.fittedState.scaler.kind).toBe("per_neuron");
      expect((probe.fittedState.model as LinearModelState).coef).toHaveLength(
        models[family].num_layers * models[family].hidden_size,
      );
      const proba = await probe.predictProba(CATS.slice(0, 3));
      expect(proba.every((r) => r.every((p) => p >= 0 && p <= 1))).toBe(true);
    }
  });
});

describe("Probe behaviour across calls", () => {
  const model = models.llama.path;

  it("gives nearly the same probabilities whatever the batch size (padding only moves the last bits)", async () => {
    const probe = new Probe({ model, layers: 1, randomState: 0, runtime, cacheDir: null });
    await probe.fit(CATS, DOGS);
    const a = await probe.predictProba(TEST_PROMPTS, { batchSize: 1 });
    const b = await probe.predictProba(TEST_PROMPTS, { batchSize: 4 });
    a.forEach((row, i) => row.forEach((p, k) => expect(Math.abs(p - b[i]![k]!)).toBeLessThan(1e-3)));
  });

  it("evaluates with accuracy, AUROC, F1 and lmprobe's eval hash", async () => {
    const probe = new Probe({ model, layers: "middle", randomState: 0, runtime });
    await probe.fit(CATS, DOGS);
    const labels = [...CATS.map(() => 1), ...DOGS.map(() => 0)];
    const result = await probe.evaluate([...CATS, ...DOGS], labels);
    if (result.task !== "classification") throw new Error("expected classification metrics");
    expect(result.nEval).toBe(20);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(result.auroc).toBeGreaterThanOrEqual(0.9);
    expect(result.evalHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.f1).toBeGreaterThan(0.8);
  });

  it("serves several probes from one worker process", async () => {
    const a = new Probe({ model, layers: 0, runtime });
    const b = new Probe({ model: models.gpt2.path, layers: 0, runtime });
    await Promise.all([a.fit(CATS, DOGS), b.fit(CATS, DOGS)]);
    await a.close(); // a shared runtime is not closed by its probes
    expect(await b.predict(["The cat."])).toHaveLength(1);
    const pid = await runtime.pid();
    expect(pid).toBeTypeOf("number");
    expect((await runtime.ready()).pid).toBe(pid);
  });

  it("reports progress per batch and keeps the prompts' order", async () => {
    const probe = new Probe({ model, layers: 2, batchSize: 3, randomState: 0, runtime, cacheDir: null });
    const events: string[] = [];
    await probe.fit(CATS, DOGS, {
      onProgress: (e) => events.push(e.type === "extract" ? `extract ${e.completed}/${e.total}` : e.type),
    });
    expect(events.filter((e) => e.startsWith("extract"))).toEqual([
      "extract 3/20",
      "extract 6/20",
      "extract 9/20",
      "extract 12/20",
      "extract 15/20",
      "extract 18/20",
      "extract 20/20",
    ]);
    const forward = await probe.predictProba([CATS[0]!, DOGS[0]!]);
    const reversed = await probe.predictProba([DOGS[0]!, CATS[0]!]);
    expect(forward[0]![1]).toBeCloseTo(reversed[1]![1]!, 5);
  });
});
