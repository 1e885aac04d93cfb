/**
 * probe.calibrate / probe.threshold through the real worker on a tiny model: the threshold picked
 * on negative-only controls flags at most `fpr` of them (and is the smallest control score that
 * does), predict follows it, save/load keeps it, clearing restores the argmax, and probes with
 * no single positive-class probability are refused.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { InvalidOptionError, NotFittedError, NotSupportedError, Probe, PythonRuntime } from "../../src/index.js";
import { BIRDS, CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());
const cacheDir = mkdtempSync(join(tmpdir(), "calibrate-cache-"));
const dir = mkdtempSync(join(tmpdir(), "calibrated-probes-"));
const CONTROLS = [...DOGS, ...BIRDS]; // ordinary (negative) traffic
const ALL = [...CATS, ...CONTROLS, ...TEST_PROMPTS];
const positive = async (probe: Probe, prompts: string[]) =>
  ((await probe.predictProba(prompts)) as number[][]).map((r) => r[1]!);
const errorOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
};

describe("calibrate on control prompts", () => {
  const fresh = async () => {
    const probe = new Probe({ model: models.gpt2.path, layers: 1, randomState: 0, runtime, cacheDir });
    return probe.fit(CATS, DOGS.slice(0, 5));
  };

  it("flags at most fpr of the controls, with the smallest such control score; predict follows it", async () => {
    const probe = await fresh();
    const argmax = await probe.predict(ALL);
    const probaBefore = await probe.predictProba(ALL);
    expect(probe.threshold).toBeNull();
    for (const fpr of [0.1, 0.25, 0.01]) {
      const cal = await probe.calibrate(CONTROLS, { fpr });
      const t = cal.threshold;
      expect(probe.threshold).toBe(t);
      const scores = await positive(probe, CONTROLS);
      const flagged = scores.filter((s) => s >= t).length;
      expect(flagged / scores.length).toBeLessThanOrEqual(fpr);
      expect(cal).toEqual({ threshold: t, fpr, controlFpr: flagged / scores.length, nControls: CONTROLS.length });
      // Minimal: the next control score below t would flag more than fpr of the controls.
      const below = Math.max(...scores.filter((s) => s < t));
      expect(scores.filter((s) => s >= below).length / scores.length).toBeGreaterThan(fpr);
      // predict uses `P(classes[1]) >= threshold`; predictProba is unchanged.
      const all = await positive(probe, ALL);
      expect(await probe.predict(ALL)).toEqual(all.map((s) => (s >= t ? 1 : 0)));
      expect(await probe.predictProba(ALL)).toEqual(probaBefore);
    }
    // fpr 0.01 on 20 controls: nothing may be flagged, so the threshold sits just above the top control.
    expect(probe.threshold).toBeGreaterThan(Math.max(...(await positive(probe, CONTROLS))));
    // score and evaluate count the calibrated labels too.
    const labels = ALL.map((_, i) => (i < CATS.length ? 1 : 0));
    const predicted = await probe.predict(ALL);
    const evaluation = await probe.evaluate(ALL, labels);
    expect(evaluation.task === "classification" && evaluation.accuracy).toBe(
      predicted.filter((p, i) => p === labels[i]).length / ALL.length,
    );
    // Clearing restores the argmax labels; null and undefined both clear.
    probe.threshold = null;
    expect(probe.threshold).toBeNull();
    expect(await probe.predict(ALL)).toEqual(argmax);
    probe.threshold = 0.5;
    probe.threshold = undefined;
    expect(await probe.predict(ALL)).toEqual(argmax);
    // Set by hand, validated.
    probe.threshold = 0.9;
    expect(await probe.predict(ALL)).toEqual((await positive(probe, ALL)).map((s) => (s >= 0.9 ? 1 : 0)));
    for (const bad of [Number.NaN, Infinity, "0.5"]) {
      const err = await errorOf(() => (probe.threshold = bad as number));
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe("threshold");
    }
    expect(probe.threshold).toBe(0.9);
    // A new fit starts without a threshold.
    await probe.fit(CATS, DOGS.slice(0, 5));
    expect(probe.threshold).toBeNull();
  });

  it("a saved calibrated probe keeps its threshold in probe.json, predicts identically after Probe.load", async () => {
    const probe = await fresh();
    const { threshold } = await probe.calibrate(CONTROLS, { fpr: 0.25 });
    const before = await probe.predict(ALL);
    expect(before).not.toEqual(
      await new Probe({ ...probe.options, runtime, cacheDir }).fit(CATS, DOGS.slice(0, 5)).then((p) => p.predict(ALL)),
    );
    const path = join(dir, "calibrated");
    await probe.save(path);
    expect(JSON.parse(readFileSync(join(path, "probe.json"), "utf8")).state.threshold).toBe(threshold);
    const loaded = await Probe.load(path, { runtime, cacheDir });
    expect(loaded.threshold).toBe(threshold);
    expect(await loaded.predict(ALL)).toEqual(before);
    // A probe saved without a threshold (as every file before this field) has none after loading.
    loaded.threshold = null;
    const plain = join(dir, "plain");
    await loaded.save(plain);
    expect("threshold" in JSON.parse(readFileSync(join(plain, "probe.json"), "utf8")).state).toBe(false);
    expect((await Probe.load(plain, { runtime, cacheDir })).threshold).toBeNull();
  });

  it("refuses multiclass and regression probes, a bad fpr, and an unfitted probe", async () => {
    const unfitted = new Probe({ model: models.gpt2.path, layers: 1, runtime, cacheDir });
    expect(await errorOf(unfitted.calibrate(CONTROLS, { fpr: 0.1 }))).toBeInstanceOf(NotFittedError);
    const probe = await fresh();
    for (const fpr of [0, 1, -0.5, Number.NaN, undefined]) {
      const err = await errorOf(probe.calibrate(CONTROLS, { fpr: fpr as number }));
      expect((err as InvalidOptionError).option).toBe("fpr");
    }
    const all = [...CATS, ...DOGS, ...BIRDS];
    const classes = all.map((_, i) => Math.floor(i / 10));
    const multi = await new Probe({ model: models.gpt2.path, layers: 1, runtime, cacheDir }).fit(all, classes);
    const err = await errorOf(multi.calibrate(CONTROLS, { fpr: 0.1 }));
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toMatch(/binary probe.*3 classes/);
    expect(await errorOf(() => (multi.threshold = 0.5))).toBeInstanceOf(NotSupportedError);
    const reg = await new Probe({ model: models.gpt2.path, layers: 1, task: "regression", runtime, cacheDir }).fit(
      all,
      classes,
    );
    expect(((await errorOf(reg.calibrate(CONTROLS, { fpr: 0.1 }))) as Error).message).toMatch(/regression/);
  });

  it("calibrateFromActivations picks the threshold on control rows; predictFromActivations follows it", async () => {
    let seed = 11;
    const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const X = Array.from({ length: 60 }, (_, i) =>
      Array.from({ length: 8 }, (_, j) => next() + (i % 2 && j < 2 ? 0.8 : 0)),
    );
    const y = X.map((_, i) => i % 2);
    const probe = await new Probe({ layers: [2], randomState: 0, runtime }).fitFromActivations(X, y);
    const controls = X.filter((_, i) => y[i] === 0);
    const cal = await probe.calibrateFromActivations(controls, { fpr: 0.1 });
    const scores = (await probe.predictProbaFromActivations(controls)).map((r) => r[1]!);
    expect(scores.filter((s) => s >= cal.threshold).length / scores.length).toBeLessThanOrEqual(0.1);
    const all = (await probe.predictProbaFromActivations(X)).map((r) => r[1]!);
    expect(await probe.predictFromActivations(X)).toEqual(all.map((s) => (s >= cal.threshold ? 1 : 0)));
  });
});
