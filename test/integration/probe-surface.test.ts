/**
 * The Probe surface where we deliberately differ from lmprobe (each test names the lmprobe
 * behaviour it replaces), token-level pooling, sweeps, the activation path and bad input,
 * all through the real worker on tiny models.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  InvalidInputError,
  NotFittedError,
  NotSupportedError,
  Probe,
  PythonRuntime,
  type ClassificationEvaluation,
  type ProgressEvent,
  type RegressionEvaluation,
} from "../../src/index.js";
import { BIRDS, CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());
const cacheDir = mkdtempSync(join(tmpdir(), "surface-"));
const base = { model: models.gpt2.path, randomState: 0, runtime, cacheDir } as const;
const PROMPTS = [...CATS, ...DOGS];
const LABELS = [...CATS.map(() => 1), ...DOGS.map(() => 0)];

function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
}

describe("deliberate differences from lmprobe", () => {
  it(
    "regression: float labels are labelled mode, score is R², evaluate gives R²/MSE/MAE " +
      "(lmprobe: contrastive mix-up, accuracy, crash)",
    async () => {
      const values = PROMPTS.map((_, i) => (i < 10 ? 1.5 + i * 0.1 : -0.5 - i * 0.05));
      const probe = new Probe({ ...base, layers: 1, task: "regression" });
      await probe.fit(PROMPTS, values);
      const predicted = await probe.predict(PROMPTS);
      expect(predicted.some((v) => !Number.isInteger(v))).toBe(true);
      const r2 = await probe.score(PROMPTS, values);
      expect(r2).toBeGreaterThan(0.5);
      expect(r2).toBeLessThanOrEqual(1);
      const evaluation = (await probe.evaluate(PROMPTS, values)) as RegressionEvaluation;
      expect(evaluation.task).toBe("regression");
      expect(evaluation.r2).toBeCloseTo(r2, 12);
      expect(evaluation.mse).toBeGreaterThanOrEqual(0);
      expect(evaluation.mae).toBeGreaterThanOrEqual(0);
      await expect(probe.predictProba(PROMPTS)).rejects.toBeInstanceOf(NotSupportedError);
    },
  );

  it("multiclass evaluate: macro averages and one-vs-rest AUROC (lmprobe: binary averages fail)", async () => {
    const probe = new Probe({ ...base, layers: [1, 2] });
    const prompts = [...CATS, ...DOGS, ...BIRDS];
    const labels = [...CATS.map(() => 0), ...DOGS.map(() => 1), ...BIRDS.map(() => 2)];
    await probe.fit(prompts, labels);
    expect(probe.classes).toEqual([0, 1, 2]);
    const result = (await probe.evaluate(prompts, labels)) as ClassificationEvaluation;
    expect(result.accuracy).toBeGreaterThan(0.8);
    expect(result.auroc).toBeGreaterThan(0.8);
    expect(result.f1).toBeGreaterThan(0.7);
    const proba = await probe.predictProba(prompts.slice(0, 3));
    proba.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9));
  });

  it("auto keeps sample weights (lmprobe drops them on the refit)", async () => {
    const weighted = new Probe({ ...base, model: models.llama.path, layers: "fast_auto", fastAutoTopK: 1 });
    const plain = new Probe({ ...base, model: models.llama.path, layers: "fast_auto", fastAutoTopK: 1 });
    await plain.fit(PROMPTS, LABELS);
    await weighted.fit(PROMPTS, LABELS, { sampleWeight: PROMPTS.map((_, i) => (i % 2 ? 3 : 0.2)) });
    expect(weighted.candidateLayers).toEqual([0, 1, 2]);
    // selectedLayers is lmprobe's selected_layers_: the layer fast_auto chose, and the probe reads it.
    expect(weighted.selectedLayers).toHaveLength(1);
    expect(weighted.candidateLayers).toContain(weighted.selectedLayers![0]);
    expect(weighted.layers).toEqual(weighted.selectedLayers);
    expect(weighted.layerImportances).toHaveLength(3);
    expect(await weighted.predictProba(TEST_PROMPTS)).not.toEqual(await plain.predictProba(TEST_PROMPTS));
  });

  it(
    "a sweep fit uses the best layer, and evaluate moves to the best held-out layer " + "(lmprobe: the first layer)",
    async () => {
      const probe = new Probe({ ...base, layers: "sweep" });
      await probe.fit(CATS, DOGS);
      expect(probe.sweepResult?.layers).toEqual([0, 1, 2]);
      const result = await probe.evaluate(PROMPTS, LABELS);
      const scores = result.layerResults!;
      expect(Object.keys(scores).map(Number)).toEqual([0, 1, 2]);
      expect(scores[result.bestLayer!]).toBe(Math.max(...Object.values(scores)));
      expect(probe.layers).toEqual([result.bestLayer]);
      expect(probe.selectedLayers).toBeUndefined(); // a sweep is not a layer selection (lmprobe: None)
    },
  );

  it("Probe.sweepLayers trains every layer from one extraction and scores them from one more", async () => {
    const events: ProgressEvent[] = [];
    await using sweep = await Probe.sweepLayers({
      model: models.gpt_neox.path,
      positivePrompts: CATS,
      negativePrompts: DOGS,
      randomState: 0,
      runtime,
      cacheDir: null,
      onProgress: (e) => events.push(e),
    });
    const finished = events.filter((e) => e.type === "extract" && e.completed === e.total);
    expect(finished).toHaveLength(1); // one pass over the prompts for all three layers
    expect(sweep.layers).toEqual([0, 1, 2]);
    expect(sweep.size).toBe(3);
    const scores = await sweep.score(PROMPTS, LABELS);
    expect(Object.keys(scores).map(Number)).toEqual([0, 1, 2]);
    expect(await sweep.bestLayer(PROMPTS, LABELS)).toBe(
      sweep.layers.reduce((b, l) => (scores[l]! > scores[b]! ? l : b)),
    );
    const proba = await sweep.predictProba(TEST_PROMPTS);
    expect(proba[1]).toEqual(await sweep.get(1).predictProba(TEST_PROMPTS));
    expect(() => sweep.get(7)).toThrow(/not swept/);
  });

  it("classifierKwargs are never mutated (lmprobe's ensemble pops C_values from the caller's dict)", async () => {
    const kwargs = { C_values: [0.5, 2.0] };
    const probe = new Probe({ ...base, layers: 1, classifier: "ensemble", classifierKwargs: kwargs });
    await probe.fit(CATS, DOGS);
    expect(kwargs).toEqual({ C_values: [0.5, 2.0] });
    expect(probe.options.classifierKwargs).toEqual({ C_values: [0.5, 2.0] });
  });

  it(
    'trainPooling "all" trains on real tokens only; ' +
      'inference "all" returns one row per real token (lmprobe: pads included)',
    async () => {
      const probe = new Probe({ ...base, model: models.llama.path, layers: 2, pooling: "all" });
      await probe.fit(CATS, DOGS);
      const prompts = ["cat", "The cat sat on the mat today."];
      const proba = await probe.predictProba(prompts);
      const labels = await probe.predict(prompts);
      expect(proba[0]!.length).toBeLessThan(proba[1]!.length); // ragged: no pad positions
      expect(labels.map((l) => l.length)).toEqual(proba.map((p) => p.length));
      proba.flat().forEach((row) => expect(row[0]! + row[1]!).toBeCloseTo(1, 9));
      // Per-prompt metrics still work: score pools the last token.
      expect(await probe.score(PROMPTS, LABELS)).toBeGreaterThan(0.5);
    },
  );
});

describe("the activation path", () => {
  const next = rng(7);
  const X = Array.from({ length: 40 }, (_, i) =>
    Array.from({ length: 12 }, (_, j) => next() + (i % 2 && j < 3 ? 1.5 : 0)),
  );
  const y = X.map((_, i) => i % 2);

  it("fits and predicts from number[][] and from a Float32Array with a shape alike", async () => {
    const probe = new Probe({ layers: [3, 5], randomState: 0, runtime });
    await probe.fitFromActivations(X, y, { nLayers: 2 });
    expect(probe.layers).toEqual([3, 5]);
    const flat = { data: Float32Array.from(X.flat()), shape: [40, 12] as [number, number] };
    expect(await probe.predictProbaFromActivations(flat)).toEqual(await probe.predictProbaFromActivations(X));
    expect(await probe.scoreFromActivations(X, y)).toBeGreaterThan(0.8);
    expect(probe.computeLayerImportance("l2", true).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("refuses NaN or infinite activations, wrong shapes and bad nLayers before Python sees them", async () => {
    const probe = new Probe({ randomState: 0, runtime });
    const bad = X.map((r) => [...r]);
    bad[3]![4] = Number.NaN;
    await expect(probe.fitFromActivations(bad, y)).rejects.toThrow(/non-finite value \(NaN\) at row 3, column 4/);
    bad[3]![4] = Number.POSITIVE_INFINITY;
    await expect(probe.fitFromActivations(bad, y)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(probe.fitFromActivations({ data: new Float32Array(10), shape: [3, 4] }, [0, 1, 0])).rejects.toThrow(
      /shape/,
    );
    await expect(probe.fitFromActivations(X, y, { nLayers: 5 })).rejects.toThrow(/nLayers/);
    await expect(probe.fit(CATS, DOGS)).rejects.toThrow(/no model/);
  });
});

describe("per-call overrides", () => {
  it("invalidateCache and batchSize per predict call; remote per call is checked like the option", async () => {
    const probe = new Probe({ ...base, layers: 1 });
    await probe.fit(CATS, DOGS);
    await probe.warmup(TEST_PROMPTS);
    const cached = await probe.predictProba(TEST_PROMPTS);
    expect(probe.lastProfile?.extraction.cachedPrompts).toBe(TEST_PROMPTS.length);
    const fresh = await probe.predictProba(TEST_PROMPTS, { invalidateCache: true, batchSize: 1 });
    expect(probe.lastProfile?.extraction.cachedPrompts).toBe(0);
    expect(maxAbs(fresh, cached)).toBeLessThan(1e-4);
    await expect(probe.predict(TEST_PROMPTS, { remote: true })).rejects.toMatchObject({
      code: "INVALID_OPTION",
      option: "remote",
    });
    const nnsight = new Probe({
      ...base,
      layers: 1,
      backend: "nnsight",
      runtime: new PythonRuntime({ env: { NDIF_API_KEY: "" } }),
    });
    await expect(nnsight.fit(CATS, DOGS, { remote: true })).rejects.toMatchObject({ code: "REMOTE_AUTH" });
    await nnsight.close();
  });
});

function maxAbs(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, k) => Math.abs(v - b[i]![k]!))));
}

describe("bad input", () => {
  it("sample weights of the wrong length", async () => {
    const probe = new Probe({ ...base, layers: 1 });
    await expect(probe.fit(CATS, DOGS, { sampleWeight: [1, 2] })).rejects.toThrow(/sampleWeight must hold 20/);
  });

  it("predictProba on a classifier without probabilities", async () => {
    const probe = new Probe({ ...base, layers: 1, classifier: "ridge" });
    await probe.fit(CATS, DOGS);
    expect((await probe.predict(TEST_PROMPTS)).every((l) => l === 0 || l === 1)).toBe(true);
    await expect(probe.predictProba(TEST_PROMPTS)).rejects.toThrow(/"ridge" has none/);
  });

  it("computeLayerImportance before fit, and on a non-linear estimator", async () => {
    expect(() => new Probe({ ...base }).computeLayerImportance()).toThrow(NotFittedError);
    const tree = new Probe({
      ...base,
      layers: 1,
      classifier: { estimator: "sklearn.tree.DecisionTreeClassifier", params: { max_depth: 2, random_state: 0 } },
    });
    await tree.fit(CATS, DOGS);
    expect((await tree.predictProba(TEST_PROMPTS)).every((r) => r.length === 2)).toBe(true);
    expect(() => tree.computeLayerImportance("l2")).toThrow(NotSupportedError);
    await expect(tree.save(join(cacheDir, "tree-probe"))).rejects.toThrow(/no array form/);
  });

  it("an allowed-looking estimator path that is not a scikit-learn class reaches Python and is refused", async () => {
    const probe = new Probe({ ...base, layers: 1, classifier: { estimator: "sklearn.linear_model.Nope" } });
    await expect(probe.fit(CATS, DOGS)).rejects.toThrow(/not a scikit-learn estimator class/i);
  });
});
