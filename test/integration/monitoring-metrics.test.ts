/**
 * evaluate's monitoring metrics against scikit-learn, computed in the test by the worker's
 * Python on the same scores: roc_curve's arrays (drop_intermediate, +inf first threshold, ties),
 * roc_auc_score, recall at FPR read off sklearn's full ROC, and numpy percentile intervals over
 * the very resamples the TypeScript bootstrap drew. Random scores with ties, then a real probe.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { bootstrapIndices } from "../../src/estimator/bootstrap.js";
import { rocAuc } from "../../src/estimator/metrics.js";
import { monitoringMetrics } from "../../src/estimator/monitoring.js";
import { recallAtFpr } from "../../src/estimator/recall-at-fpr.js";
import { rocCurve } from "../../src/estimator/roc-curve.js";
import { InvalidInputError, InvalidOptionError, Probe, PythonRuntime, type Interval } from "../../src/index.js";
import { BIRDS, CATS, DOGS } from "../helpers/prompts.js";

interface SkCase {
  roc: { fpr: number[]; tpr: number[]; thresholds: (number | string)[] };
  auroc: number;
  recallAtFpr: { recall: number; threshold: number | string; fpr: number }[];
  bootstrap: { used: number; accuracy: number[] | null; auroc: number[] | null; recallAtFpr: (number[] | null)[] };
}
interface Case {
  truth: number[];
  scores: number[];
  predicted: number[];
  fpr: number[];
  resamples: number[][];
  confidence: number;
}

const fixture = join(import.meta.dirname, "..", "fixtures", "sklearn_monitoring.py");
const sklearn = (cases: Case[]): SkCase[] =>
  JSON.parse(execFileSync(inject("python"), [fixture], { input: JSON.stringify(cases), encoding: "utf8" }));
const num = (v: number | string) => (v === "inf" ? Infinity : v === "-inf" ? -Infinity : Number(v));
const asPair = (i: Interval | null | undefined) => (i ? [i.lower, i.upper] : null);
const FPRS = [0.01, 0.05, 0.1, 0.3];

/** A seeded generator (an LCG), so the random cases are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function expectInterval(got: Interval | null | undefined, want: number[] | null) {
  if (want === null) return expect(got ?? null).toBeNull();
  expect(got!.lower).toBeCloseTo(want[0]!, 12);
  expect(got!.upper).toBeCloseTo(want[1]!, 12);
}

/** Every TypeScript metric of a case equals sklearn's. */
function expectSklearn(c: Case, sk: SkCase) {
  const curve = rocCurve(c.truth, c.scores)!;
  expect(curve.fpr).toEqual(sk.roc.fpr);
  expect(curve.tpr).toEqual(sk.roc.tpr);
  expect(curve.thresholds).toEqual(sk.roc.thresholds.map(num));
  expect(rocAuc(c.truth, c.scores)).toBeCloseTo(sk.auroc, 12);
  const recalls = recallAtFpr(c.truth, c.scores, c.fpr)!;
  expect(recalls.map((r) => [r.recall, r.threshold, r.actualFpr])).toEqual(
    sk.recallAtFpr.map((r) => [r.recall, num(r.threshold), r.fpr]),
  );
  const n = c.resamples.length;
  const m = monitoringMetrics(
    { fpr: c.fpr, roc: false, bootstrap: { n, seed: 7, confidence: c.confidence } },
    [0, 1],
    c.truth,
    c.predicted,
    c.scores.map((s) => [1 - s, s]),
  );
  expect(m.bootstrap!.used).toBe(sk.bootstrap.used);
  expectInterval(m.bootstrap!.accuracy, sk.bootstrap.accuracy);
  expectInterval(m.bootstrap!.auroc, sk.bootstrap.auroc);
  m.bootstrap!.recallAtFpr!.forEach((i, k) => expectInterval(i, sk.bootstrap.recallAtFpr[k]!));
}

describe("ROC, recall@FPR and bootstrap equal scikit-learn's on random scores with ties", () => {
  const rand = lcg(12345);
  const make = (size: number, positives: number, round: (x: number) => number, confidence = 0.95): Case => {
    const truth = Array.from({ length: size }, (_, i) => (i < positives ? 1 : 0));
    const scores = truth.map((t) => round(Math.min(1, Math.max(0, rand() * 0.8 + t * 0.25))));
    return {
      truth,
      scores,
      predicted: scores.map((s) => (s >= 0.5 ? 1 : 0)),
      fpr: FPRS,
      resamples: bootstrapIndices(size, 300, 7).map((r) => [...r]),
      confidence,
    };
  };
  const cases: Array<[string, Case]> = [
    ["heavy ties (one decimal)", make(200, 90, (x) => Math.round(x * 10) / 10)],
    ["continuous scores", make(150, 60, (x) => x)],
    ["imbalanced, two decimals, 90% intervals", make(120, 8, (x) => Math.round(x * 100) / 100, 0.9)],
    ["tiny set: many resamples lack a class", make(6, 1, (x) => Math.round(x * 4) / 4)],
    ["every score tied", make(40, 20, () => 0.5)],
  ];
  const answers = sklearn(cases.map(([, c]) => c));

  it.each(cases.map(([name], i) => [name, i] as const))("%s", (_, i) => {
    expectSklearn(cases[i]![1], answers[i]!);
  });

  it("the tiny case really skips resamples with a single class", () => {
    expect(answers[3]!.bootstrap.used).toBeLessThan(300);
    expect(answers[3]!.bootstrap.used).toBeGreaterThan(0);
  });
});

describe("evaluate on a real probe (tiny model, real worker) equals scikit-learn on the probe's own scores", () => {
  const models = inject("tinyModels");
  const runtime = new PythonRuntime();
  afterAll(() => runtime.close());
  const cacheDir = mkdtempSync(join(tmpdir(), "monitoring-cache-"));
  const prompts = [...CATS, ...DOGS];
  // Labels the probe does not fully separate (a few flipped), so the curve has real steps.
  const labels = prompts.map((_, i) => (i < CATS.length ? 1 : 0) ^ (i % 7 === 3 ? 1 : 0));

  it("recallAtFpr, roc, auroc and the bootstrap intervals", async () => {
    const probe = new Probe({ model: models.gpt2.path, layers: 1, randomState: 0, runtime, cacheDir });
    await probe.fit(CATS.slice(0, 6), DOGS.slice(0, 6));
    const bootstrap = { n: 400, seed: 3 };
    const result = await probe.evaluate(prompts, labels, { fpr: [0.05, 0.1, 0.25], bootstrap });
    if (result.task !== "classification") throw new Error("a classifier");
    const scores = (await probe.predictProba(prompts)).map((r) => r[1]!);
    const predicted = await probe.predict(prompts);
    const [sk] = sklearn([
      {
        truth: labels,
        scores,
        predicted,
        fpr: [0.05, 0.1, 0.25],
        resamples: bootstrapIndices(prompts.length, bootstrap.n, bootstrap.seed).map((r) => [...r]),
        confidence: 0.95,
      },
    ]);
    expect(result.roc).toEqual({ fpr: sk!.roc.fpr, tpr: sk!.roc.tpr, thresholds: sk!.roc.thresholds.map(num) });
    expect(result.auroc).toBeCloseTo(sk!.auroc, 12);
    expect(result.recallAtFpr!.map((r) => [r.fpr, r.recall, r.threshold, r.actualFpr])).toEqual(
      sk!.recallAtFpr.map((r, k) => [[0.05, 0.1, 0.25][k], r.recall, num(r.threshold), r.fpr]),
    );
    const b = result.bootstrap!;
    expect([b.n, b.seed, b.confidence, b.used]).toEqual([400, 3, 0.95, sk!.bootstrap.used]);
    expectInterval(b.accuracy, sk!.bootstrap.accuracy);
    expectInterval(b.auroc, sk!.bootstrap.auroc);
    b.recallAtFpr!.forEach((i, k) => expectInterval(i, sk!.bootstrap.recallAtFpr[k]!));
    // Seeded: the same seed gives the same intervals, another seed other ones.
    const again = await probe.evaluate(prompts, labels, { fpr: [0.05, 0.1, 0.25], bootstrap });
    expect(again.task === "classification" && again.bootstrap).toEqual(b);
    const other = await probe.evaluate(prompts, labels, { fpr: 0.1, bootstrap: { n: 400, seed: 4 } });
    expect(other.task === "classification" && asPair(other.bootstrap!.auroc)).not.toEqual(asPair(b.auroc));
    // Without the options the result is what it always was.
    const plain = await probe.evaluate(prompts, labels);
    expect(Object.keys(plain).sort()).toEqual(
      ["accuracy", "auroc", "evalHash", "f1", "nEval", "precision", "recall", "task"].sort(),
    );
    await expect(
      probe.evaluate(
        CATS,
        CATS.map(() => 1),
        { fpr: 0.1 },
      ),
    ).rejects.toThrow(InvalidInputError);
  });

  it("refuses recall@FPR for a multiclass probe and every monitoring option for regression, naming it", async () => {
    const multi = new Probe({ model: models.gpt2.path, layers: 1, randomState: 0, runtime, cacheDir });
    const all = [...CATS, ...DOGS, ...BIRDS];
    const classes = all.map((_, i) => Math.floor(i / 10));
    await multi.fit(all, classes);
    const err = await multi.evaluate(all, classes, { fpr: 0.01 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe("fpr");
    expect((err as Error).message).toMatch(/binary probe.*3 classes/);
    const roc = await multi.evaluate(all, classes, { roc: true }).catch((e: unknown) => e);
    expect((roc as InvalidOptionError).option).toBe("roc");
    // The bootstrap does apply to multiclass probes: accuracy and one-vs-rest AUROC intervals.
    const boot = await multi.evaluate(all, classes, { bootstrap: { n: 50 } });
    expect(boot.task === "classification" && boot.bootstrap!.accuracy).not.toBeNull();
    const reg = new Probe({ model: models.gpt2.path, layers: 1, task: "regression", runtime, cacheDir });
    await reg.fit(all, classes);
    const regErr = await reg.evaluate(all, classes, { bootstrap: { n: 10 } }).catch((e: unknown) => e);
    expect((regErr as InvalidOptionError).option).toBe("bootstrap");
  });
});
