/**
 * The parity matrix: each configuration runs through our SDK and through Python lmprobe 0.10.3
 * (the oracle, one process for all jobs) on tiny llama (left padding), gpt2 and gpt_neox models.
 * Labels must be identical, probabilities within 1e-5 (1e-4 for iterative solvers, named per
 * case), selected layers identical, evaluate/importance equal. Batches follow input order
 * (groupByLength: false), as lmprobe's do.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { execa } from "execa";
import { Probe, PythonRuntime, type ProbeOptions } from "../../src/index.js";
import { BIRDS, CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const python = inject("python");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());

type Family = "llama" | "gpt2" | "gpt_neox";
type Data = "binary" | "multiclass" | "regression";
interface Case {
  name: string;
  family: Family;
  data: Data;
  options: Omit<ProbeOptions, "model">;
  /** Tolerance on probabilities / values; above 1e-5 only for iterative solvers. */
  tol?: number;
  weights?: boolean;
  evaluate?: boolean;
  importance?: boolean;
}

const TESTS = [...TEST_PROMPTS, "A bird and a cat.", "Birds fly south.", ...CATS.slice(0, 2).map((c) => `${c} Really.`)];
const DATA: Record<Data, { prompts: string[]; labels: number[]; testLabels: number[] }> = {
  binary: { prompts: [...CATS, ...DOGS], labels: [...CATS.map(() => 1), ...DOGS.map(() => 0)], testLabels: [1, 0, 1, 0, 1, 0, 1, 1] },
  multiclass: { prompts: [...CATS, ...DOGS, ...BIRDS], labels: [...CATS.map(() => 0), ...DOGS.map(() => 1), ...BIRDS.map(() => 2)], testLabels: [0, 1, 0, 1, 2, 2, 0, 0] },
  // Integer targets: lmprobe mistakes float labels for contrastive prompts.
  regression: { prompts: [...CATS, ...DOGS], labels: [...CATS.map((_, i) => i % 4), ...DOGS.map((_, i) => 5 + (i % 3))], testLabels: [] },
};
const WEIGHTS = DATA.binary.prompts.map((_, i) => 0.5 + (i % 3) * 0.5);

const cases: Case[] = [
  // extraction: layers, poolings, scaling and batch sizes on each family ("grouped": our length
  // grouping changes batch composition; padding moves the numbers only at float-noise level)
  { name: "extraction llama -1 last_token batch 8", family: "llama", data: "binary", options: { layers: -1, batchSize: 8 } },
  { name: "extraction llama middle mean batch 4", family: "llama", data: "binary", options: { layers: "middle", pooling: "mean" } },
  { name: "extraction llama [0,2] per_layer batch 3", family: "llama", data: "binary", options: { layers: [0, 2], batchSize: 3, normalizeLayers: "per_layer" } },
  { name: "extraction gpt2 first_token (right padding)", family: "gpt2", data: "binary", options: { layers: 1, pooling: "first_token", batchSize: 8 } },
  { name: "extraction gpt2 all layers batch 5", family: "gpt2", data: "binary", options: { layers: "all", batchSize: 5 } },
  { name: "extraction gpt_neox last mean", family: "gpt_neox", data: "binary", options: { layers: "last", pooling: "mean", batchSize: 8 } },
  { name: "extraction gpt_neox [2,0] unscaled batch 7", family: "gpt_neox", data: "binary", options: { layers: [2, 0], batchSize: 7, normalizeLayers: false } },
  { name: "extraction gpt2 all mean grouped", family: "gpt2", data: "binary", options: { layers: "all", pooling: "mean", groupByLength: true } },
  { name: "extraction llama middle grouped", family: "llama", data: "binary", options: { layers: "middle", groupByLength: true } },
  // every built-in classifier
  { name: "logistic_regression C=0.1", family: "gpt2", data: "binary", options: { layers: 1, classifier: "logistic_regression", classifierKwargs: { C: 0.1 } }, evaluate: true },
  { name: "logistic_regression_cv", family: "llama", data: "binary", options: { layers: -1, classifier: "logistic_regression_cv" }, tol: 1e-4 },
  { name: "ridge (no probabilities)", family: "gpt2", data: "binary", options: { layers: 1, classifier: "ridge" }, evaluate: true },
  { name: "svm (Platt)", family: "llama", data: "binary", options: { layers: [1, 2], classifier: "svm" } },
  { name: "sgd", family: "gpt2", data: "binary", options: { layers: "all", classifier: "sgd" }, tol: 1e-4 },
  { name: "sgd_gpu", family: "llama", data: "binary", options: { layers: 2, classifier: "sgd_gpu" }, tol: 1e-4 },
  { name: "mass_mean", family: "gpt_neox", data: "binary", options: { layers: 1, classifier: "mass_mean" }, evaluate: true },
  { name: "lda", family: "gpt2", data: "binary", options: { layers: 2, classifier: "lda" } },
  { name: "ensemble C_values", family: "llama", data: "binary", options: { layers: 1, classifier: "ensemble", classifierKwargs: { C_values: [0.1, 1.0] } } },
  // multiclass
  { name: "multiclass logistic_regression", family: "llama", data: "multiclass", options: { layers: [1, 3] }, evaluate: false },
  { name: "multiclass svm (pairwise coupling)", family: "gpt2", data: "multiclass", options: { layers: 1, classifier: "svm" } },
  { name: "multiclass sgd (one-vs-rest)", family: "gpt_neox", data: "multiclass", options: { layers: 2, classifier: "sgd" }, tol: 1e-4 },
  { name: "multiclass lda", family: "gpt2", data: "multiclass", options: { layers: 2, classifier: "lda" } },
  // regression
  { name: "regression ridge_regression", family: "llama", data: "regression", options: { layers: 2, task: "regression" } },
  // preprocessing, scaling, augment, weights
  { name: "preprocessing standard (disables layer scaling)", family: "llama", data: "binary", options: { layers: [0, 2], preprocessing: "standard", normalizeLayers: "per_layer" } },
  { name: "preprocessing pca:4", family: "gpt2", data: "binary", options: { layers: "all", preprocessing: "pca:4" }, tol: 1e-4 },
  { name: "preprocessing standard+pca, pcaComponents", family: "gpt_neox", data: "binary", options: { layers: [0, 1], preprocessing: ["standard", "pca"], pcaComponents: 3 }, tol: 1e-4 },
  { name: "massMeanAugment", family: "llama", data: "binary", options: { layers: [1, 3], massMeanAugment: true } },
  { name: "sampleWeight", family: "gpt2", data: "binary", options: { layers: 1 }, weights: true },
  { name: "normalizeLayers false", family: "gpt_neox", data: "binary", options: { layers: "all", normalizeLayers: false } },
  // layer selection
  { name: "auto (Group Lasso)", family: "llama", data: "binary", options: { layers: "auto", autoAlpha: 0.01 }, tol: 1e-4 },
  { name: "fast_auto top 2", family: "llama", data: "binary", options: { layers: "fast_auto", autoCandidates: [0, 1, 3], fastAutoTopK: 2 } },
  // inference pooling
  { name: "score-level max", family: "gpt2", data: "binary", options: { layers: 1, inferencePooling: "max" } },
  { name: "score-level min after mean training", family: "gpt2", data: "binary", options: { layers: 2, trainPooling: "mean", inferencePooling: "min" } },
  { name: "score:mean (left padding)", family: "llama", data: "binary", options: { layers: 2, inferencePooling: "score:mean" } },
  { name: "activation:max", family: "gpt_neox", data: "binary", options: { layers: 1, inferencePooling: "activation:max" } },
  // layer importance
  { name: "computeLayerImportance", family: "llama", data: "binary", options: { layers: [0, 1, 3] }, importance: true },
];

// The activation path (fit_from_activations & co.) on deterministic pseudo-random features.
function features(n: number, d: number, seed: number): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => next() + (i % 2 && j % 5 === 0 ? 1 : 0)));
}
const ACTS = { X: features(40, 16, 3), y: Array.from({ length: 40 }, (_, i) => i % 2), X_test: features(12, 16, 11), y_test: Array.from({ length: 12 }, (_, i) => (i + 1) % 2) };
const activationCases: Array<{ name: string; options: Omit<ProbeOptions, "model">; regression?: boolean }> = [
  { name: "fitFromActivations logistic_regression", options: {} },
  { name: "fitFromActivations massMeanAugment + svm", options: { classifier: "svm", massMeanAugment: true } },
  { name: "fitFromActivations regression", options: { task: "regression" }, regression: true },
];

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
function pythonKwargs(model: string, o: Case["options"]): Record<string, unknown> {
  const out: Record<string, unknown> = { model, random_state: 0, batch_size: 4 };
  for (const [k, v] of Object.entries(o)) if (k !== "groupByLength") out[snake(k)] = v; // ours only
  return out;
}

/** The first case waits for the whole oracle run (all jobs, skglm's compile included). */
const ORACLE_WAIT_MS = 600_000;

type OracleResult = Record<string, unknown> & { error?: string };
let oracle: Promise<OracleResult[]>;

beforeAll(() => {
  const jobs = cases.map((c) => ({
    probe: pythonKwargs(models[c.family].path, c.options),
    train_prompts: DATA[c.data].prompts,
    train_labels: DATA[c.data].labels,
    ...(c.weights ? { sample_weight: WEIGHTS } : {}),
    test_prompts: TESTS,
    ...(c.evaluate ? { test_labels: DATA[c.data].testLabels } : {}),
    ...(c.importance ? { importance: true } : {}),
  }));
  for (const c of activationCases) {
    const y = c.regression ? ACTS.y.map((v, i) => v * 3 + (i % 4)) : ACTS.y;
    const yTest = c.regression ? ACTS.y_test.map((v, i) => v * 3 + (i % 4)) : ACTS.y_test;
    jobs.push({ probe: { random_state: 0, ...Object.fromEntries(Object.entries(c.options).map(([k, v]) => [snake(k), v])) }, activations: { X: ACTS.X, y, X_test: ACTS.X_test, y_test: yTest } } as never);
  }
  oracle = execa(python, [join(import.meta.dirname, "..", "fixtures", "lmprobe_oracle.py")], { input: JSON.stringify(jobs) }).then((r) => JSON.parse(r.stdout.trim().split("\n").pop()!) as OracleResult[]);
  oracle.catch(() => undefined); // surfaced by the tests that await it
});

function maxDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length).toBe(b.length);
    return a.reduce((m: number, v, i) => Math.max(m, maxDiff(v, b[i])), 0);
  }
  return Math.abs((a as number) - (b as number));
}

describe("parity matrix with lmprobe 0.10.3", () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))("%s", async (_name, c, index) => {
    const data = DATA[c.data];
    const probe = new Probe({ model: models[c.family].path, randomState: 0, batchSize: 4, groupByLength: false, runtime, cacheDir: mkdtempSync(join(tmpdir(), "matrix-")), ...c.options });
    await probe.fit(data.prompts, data.labels, c.weights ? { sampleWeight: WEIGHTS } : {});
    const predicted = await probe.predict(TESTS);
    const expected = (await oracle)[index]!;
    expect(expected.error).toBeUndefined();
    const tol = c.tol ?? 1e-5;
    expect(probe.layers).toEqual([...(expected.selected_layers as number[])].sort((a, b) => a - b));
    // selectedLayers is lmprobe's selected_layers_ (None unless auto/fast_auto chose layers).
    const attr = expected.selected_layers_attr as number[] | null;
    expect(probe.selectedLayers).toEqual(attr === null ? undefined : [...attr].sort((a, b) => a - b));
    if (c.data === "regression") {
      expect(maxDiff(predicted, expected.predict)).toBeLessThan(tol * 10); // values, not probabilities: same relative bar on a 0–7 scale
      return;
    }
    expect(probe.classes).toEqual(expected.classes);
    expect(predicted).toEqual(expected.predict);
    if (expected.proba) {
      const diff = maxDiff(await probe.predictProba(TESTS), expected.proba);
      console.info(`matrix ${c.name}: max |Δproba| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(tol);
    }
    if (expected.layer_importances && c.options.layers === "auto") {
      expect(maxDiff(probe.layerImportances, expected.layer_importances)).toBeLessThan(1e-3);
    }
    if (c.evaluate) {
      const ours = await probe.evaluate(TESTS, data.testLabels);
      const theirs = expected.evaluate as Record<string, number | string | null>;
      expect(ours).toMatchObject({ accuracy: theirs.accuracy, f1: theirs.f1, precision: theirs.precision, recall: theirs.recall, nEval: theirs.n_eval, evalHash: theirs.eval_hash });
      if (theirs.auroc === null || theirs.auroc === undefined) expect((ours as { auroc: number | null }).auroc).toBeNull();
      else expect(Math.abs((ours as { auroc: number }).auroc - (theirs.auroc as number))).toBeLessThan(1e-9);
    }
    if (c.importance) {
      const theirs = expected.importance as Record<string, number[]>;
      for (const key of Object.keys(theirs)) {
        const [metric, normalize] = key.split(":") as ["l2", string];
        expect(maxDiff(probe.computeLayerImportance(metric, normalize === "True"), theirs[key])).toBeLessThan(1e-6);
      }
    }
  }, ORACLE_WAIT_MS);
});

describe("parity of the activation path with lmprobe 0.10.3", () => {
  it.each(activationCases.map((c, i) => [c.name, c, cases.length + i] as const))("%s", async (_name, c, index) => {
    const y = c.regression ? ACTS.y.map((v, i) => v * 3 + (i % 4)) : ACTS.y;
    const yTest = c.regression ? ACTS.y_test.map((v, i) => v * 3 + (i % 4)) : ACTS.y_test;
    const probe = new Probe({ randomState: 0, runtime, ...c.options });
    await probe.fitFromActivations(ACTS.X, y);
    const expected = (await oracle)[index]!;
    expect(expected.error).toBeUndefined();
    const predicted = await probe.predictFromActivations(ACTS.X_test);
    if (c.regression) expect(maxDiff(predicted, expected.predict)).toBeLessThan(1e-5);
    else {
      expect(predicted).toEqual(expected.predict);
      expect(maxDiff(await probe.predictProbaFromActivations(ACTS.X_test), expected.proba)).toBeLessThan(1e-5);
    }
    expect(Math.abs((await probe.scoreFromActivations(ACTS.X_test, yTest)) - (expected.score as number))).toBeLessThan(1e-6);
  }, ORACLE_WAIT_MS);
});
