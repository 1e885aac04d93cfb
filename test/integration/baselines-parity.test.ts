/**
 * Baselines against lmprobe 0.10.3 (the oracle runs in this test on the same data): every text
 * and activation baseline's labels, probabilities and score, and the battery's table.
 *
 * Why equality is exact here (not a bound): the text baselines run the same scikit-learn calls
 * on the same strings in both processes; the activation baselines get bit-identical activations
 * (same forward pass, input-order batches of 8, see parity-matrix point 1) and the worker then
 * runs lmprobe's numpy/scikit-learn steps on them. Nothing is evaluated in TypeScript.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BaselineBattery, BaselineProbe, PythonRuntime, type BaselineProbeOptions } from "../../src/index.js";
import { NEGATIVE, POSITIVE, TEST_LABELS, TESTS, runOracle, type OracleResult } from "../helpers/baseline-oracle.js";

const models = inject("tinyModels");
const python = inject("python");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());

type Family = "llama" | "gpt2" | "gpt_neox";
interface Case {
  name: string;
  options: BaselineProbeOptions;
  family?: Family;
}
const textCases: Case[] = [
  { name: "bow", options: { method: "bow", randomState: 0 } },
  { name: "tfidf", options: { method: "tfidf", randomState: 0 } },
  {
    name: "tfidf bigrams, 20 features, svm",
    options: { method: "tfidf", ngramRange: [1, 2], maxFeatures: 20, classifier: "svm", randomState: 0 },
  },
  { name: "bow lda (dense rows)", options: { method: "bow", classifier: "lda" } },
  { name: "tfidf ridge (no probabilities)", options: { method: "tfidf", classifier: "ridge", randomState: 0 } },
  { name: "random (uniform dummy)", options: { method: "random", randomState: 3 } },
  { name: "majority", options: { method: "majority" } },
  { name: "sentence_length", options: { method: "sentence_length", randomState: 0 } },
  { name: "shuffled_labels on bow", options: { method: "shuffled_labels", baseMethod: "bow", randomState: 1 } },
];
const activationCases: Case[] = [
  {
    name: "random_direction llama -1 (left padding)",
    family: "llama",
    options: { method: "random_direction", randomState: 0 },
  },
  {
    name: "random_direction gpt2 middle mean",
    family: "gpt2",
    options: { method: "random_direction", layers: "middle", pooling: "mean", randomState: 5 },
  },
  {
    name: "pca gpt2 layer 1, 3 components",
    family: "gpt2",
    options: { method: "pca", layers: 1, nComponents: 3, randomState: 0 },
  },
  { name: "pca gpt_neox default components (capped)", family: "gpt_neox", options: { method: "pca", randomState: 0 } },
  { name: "layer_0 gpt_neox", family: "gpt_neox", options: { method: "layer_0", randomState: 0 } },
];

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
function pythonKwargs(c: Case): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.options)) out[snake(k)] = v;
  if (c.family) out.model = models[c.family].path;
  return out;
}
const data = { positive: POSITIVE, negative: NEGATIVE, test_prompts: TESTS, test_labels: TEST_LABELS };
const BATTERY_SEED = 4;

let oracle: Promise<OracleResult[]>;
beforeAll(() => {
  const jobs = [
    ...textCases.map((c) => ({ kind: "text", kwargs: pythonKwargs(c), ...data })),
    ...activationCases.map((c) => ({ kind: "activation", kwargs: pythonKwargs(c), ...data })),
    {
      kind: "battery",
      // lmprobe's registry also lists sentence_transformers and perplexity, which we do not offer.
      kwargs: {
        model: models.llama.path,
        random_state: BATTERY_SEED,
        include: ["bow", "tfidf", "random", "majority", "sentence_length", "random_direction", "pca", "layer_0"],
      },
      ...data,
    },
    // a classifier that cannot fit sparse text features: lmprobe warns and drops those baselines
    { kind: "battery", kwargs: { random_state: 0, classifier: "mass_mean" }, ...data },
  ];
  oracle = runOracle(python, jobs);
  oracle.catch(() => undefined); // surfaced by the tests that await it
});

const ORACLE_WAIT_MS = 600_000;

describe("baselines: parity with lmprobe 0.10.3", () => {
  const all = [...textCases, ...activationCases];
  it.each(all.map((c, i) => [c.name, c, i] as const))(
    "%s",
    async (_name, c, index) => {
      const baseline = new BaselineProbe({
        ...c.options,
        runtime,
        ...(c.family
          ? { model: models[c.family].path, groupByLength: false, cacheDir: mkdtempSync(join(tmpdir(), "bl-")) }
          : {}),
      });
      await baseline.fit(POSITIVE, NEGATIVE);
      const expected = (await oracle)[index]!;
      expect(expected.error).toBeUndefined();
      expect(baseline.usesActivations).toBe(c.family !== undefined);
      expect(baseline.classes).toEqual(expected.classes);
      expect(await baseline.predict(TESTS)).toEqual(expected.predict);
      expect(await baseline.score(TESTS, TEST_LABELS)).toBe(expected.score);
      if (expected.proba) expect(await baseline.predictProba(TESTS)).toEqual(expected.proba);
      else await expect(baseline.predictProba(TESTS)).rejects.toMatchObject({ code: "NOT_SUPPORTED" });
      await baseline.close();
    },
    ORACLE_WAIT_MS,
  );

  it(
    "the battery's table equals lmprobe's BaselineBattery results, row for row",
    async () => {
      const battery = new BaselineBattery({
        model: models.llama.path,
        randomState: BATTERY_SEED,
        runtime,
        groupByLength: false,
        cacheDir: mkdtempSync(join(tmpdir(), "battery-")),
      });
      const table = await battery.run(
        { positive: POSITIVE, negative: NEGATIVE },
        { prompts: TESTS, labels: TEST_LABELS },
      );
      const expected = (await oracle)[all.length]! as OracleResult & {
        rows: Array<{ name: string; score: number; auroc: number | null }>;
        best: string[];
      };
      expect(expected.error).toBeUndefined();
      expect(table.skipped).toEqual([]);
      expect(table.metric).toBe("accuracy");
      expect(table.nTest).toBe(TESTS.length);
      expect(table.rows.map((r) => r.name)).toEqual(expected.rows.map((r) => r.name));
      expect(table.rows.map((r) => r.score)).toEqual(expected.rows.map((r) => r.score));
      expect(table.rows.every((r) => r.accuracy === r.score)).toBe(true);
      expect(table.rows.map((r) => r.kind)).toEqual(
        expected.rows.map((r) => (["random_direction", "pca", "layer_0"].includes(r.name) ? "activation" : "text")),
      );
      // AUROC is ours (lmprobe's table has none): checked against sklearn's roc_auc_score of the same probabilities.
      table.rows.forEach((r, i) => {
        const theirs = expected.rows[i]!.auroc;
        if (theirs === null) expect(r.auroc).toBeNull();
        else expect(Math.abs(r.auroc! - theirs)).toBeLessThan(1e-12);
      });
      expect(battery.getBest(3).map((r) => r.name)).toEqual(expected.best);
      expect(await battery.getBaseline("pca").predict(TESTS)).toHaveLength(TESTS.length);
      console.info(`battery: ${table.rows.map((r) => `${r.name} ${r.score.toFixed(2)}`).join(", ")}`);
      await battery.close();
    },
    ORACLE_WAIT_MS,
  );

  it(
    "baselines that fail are dropped from the table as lmprobe drops them, and listed in skipped",
    async () => {
      const battery = new BaselineBattery({ randomState: 0, classifier: "mass_mean", runtime });
      const table = await battery.run(
        { positive: POSITIVE, negative: NEGATIVE },
        { prompts: TESTS, labels: TEST_LABELS },
      );
      const expected = (await oracle)[all.length + 1]! as OracleResult & {
        rows: Array<{ name: string; score: number }>;
      };
      expect(expected.error).toBeUndefined();
      expect(table.rows.map((r) => [r.name, r.score])).toEqual(expected.rows.map((r) => [r.name, r.score]));
      const ran = new Set(expected.rows.map((r) => r.name));
      expect(table.skipped.map((s) => s.name)).toEqual(battery.applicableBaselines.filter((n) => !ran.has(n)));
      expect(table.skipped.length).toBeGreaterThan(0);
      expect(table.skipped.every((s) => s.code === "BAD_REQUEST" && s.message.includes("mass_mean"))).toBe(true);
      await battery.close();
    },
    ORACLE_WAIT_MS,
  );

  it("a battery without a model runs the text baselines only; exclude and shuffled_labels opt-in", async () => {
    const battery = new BaselineBattery({
      runtime,
      randomState: 0,
      include: ["bow", "shuffled_labels", "pca"],
      exclude: ["bow"],
    });
    expect(battery.applicableBaselines).toEqual(["shuffled_labels"]);
    const table = await battery.run({
      prompts: [...POSITIVE, ...NEGATIVE],
      labels: [...POSITIVE.map(() => 1), ...NEGATIVE.map(() => 0)],
    });
    expect(table.nTest).toBe(POSITIVE.length + NEGATIVE.length); // lmprobe: no test set scores the training data
    expect(table.rows.map((r) => r.name)).toEqual(["shuffled_labels"]);
    await battery.close();
  });

  it("a baseline the worker no longer holds fails with NOT_FITTED after a restart", async () => {
    const own = new PythonRuntime();
    const baseline = new BaselineProbe({ method: "bow", runtime: own });
    try {
      await baseline.fit(POSITIVE, NEGATIVE);
      const pid = (await own.pid())!;
      process.kill(pid, "SIGKILL");
      await expect(baseline.predict(TESTS)).rejects.toMatchObject({ code: "NOT_FITTED" });
      expect(await own.pid()).not.toBe(pid);
      // Refitting on the fresh worker recovers.
      await baseline.fit(POSITIVE, NEGATIVE);
      expect(await baseline.predict(TESTS)).toHaveLength(TESTS.length);
    } finally {
      await own.close();
    }
  });
});
