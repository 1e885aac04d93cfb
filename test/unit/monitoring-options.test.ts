/**
 * Python-free checks of the monitoring building blocks: option validation names the bad option,
 * the calibration rule on hand-checkable control scores (ties, too few controls), and the
 * bootstrap's determinism. Values against scikit-learn: test/integration/monitoring-metrics.test.ts.
 */
import { describe, expect, it } from "vitest";
import { bootstrapIndices, percentileInterval } from "../../src/estimator/bootstrap.js";
import { applyThreshold, pickThreshold } from "../../src/estimator/decision-threshold.js";
import { checkMonitoringFor, parseMonitoringOptions } from "../../src/estimator/monitoring-options.js";
import { InvalidOptionError } from "../../src/errors.js";

const optionOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return (err as InvalidOptionError).option;
  }
  throw new Error("expected InvalidOptionError");
};

describe("evaluate's monitoring options", () => {
  it("applies defaults", () => {
    expect(parseMonitoringOptions({})).toEqual({ fpr: [], roc: false });
    expect(parseMonitoringOptions({ fpr: 0.01, bootstrap: { n: 10 } })).toEqual({
      fpr: [0.01],
      roc: false,
      bootstrap: { n: 10, seed: 0, confidence: 0.95 },
    });
  });

  it.each([
    [{ fpr: 0 }, "fpr"],
    [{ fpr: 1 }, "fpr"],
    [{ fpr: [0.01, 1.5] }, "fpr[1]"],
    [{ fpr: [] }, "fpr"],
    [{ fpr: Number.NaN }, "fpr"],
    [{ roc: "yes" }, "roc"],
    [{ bootstrap: { n: 0 } }, "bootstrap.n"],
    [{ bootstrap: { n: 2.5 } }, "bootstrap.n"],
    [{ bootstrap: { n: 10, seed: -1 } }, "bootstrap.seed"],
    [{ bootstrap: { n: 10, confidence: 1 } }, "bootstrap.confidence"],
    [{ bootstrap: { n: 10, sed: 1 } }, "bootstrap"],
  ])("%j fails naming %s", (options, option) => {
    expect(optionOf(() => parseMonitoringOptions(options as never))).toBe(option);
  });

  it("refuses what a probe cannot answer, naming the option", () => {
    const m = parseMonitoringOptions({ fpr: 0.01 });
    expect(optionOf(() => checkMonitoringFor(m, "classification", 3, true))).toBe("fpr");
    expect(optionOf(() => checkMonitoringFor(m, "classification", 2, false))).toBe("fpr");
    expect(optionOf(() => checkMonitoringFor({ fpr: [], roc: true }, "classification", 4, true))).toBe("roc");
    const boot = parseMonitoringOptions({ bootstrap: { n: 5 } });
    expect(optionOf(() => checkMonitoringFor(boot, "regression", 0, false))).toBe("bootstrap");
    expect(() => checkMonitoringFor(boot, "classification", 3, true)).not.toThrow();
  });
});

describe("the calibration rule", () => {
  it("takes the smallest control score whose FPR is within the target, tie groups counted whole", () => {
    const scores = [0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
    // 1 of 10 at ≥ 0.9 (10%); the 0.8 tie would make 30%.
    expect(pickThreshold(scores, 0.1)).toEqual({ threshold: 0.9, controlFpr: 0.1 });
    expect(pickThreshold(scores, 0.25)).toEqual({ threshold: 0.9, controlFpr: 0.1 });
    expect(pickThreshold(scores, 0.3)).toEqual({ threshold: 0.8, controlFpr: 0.3 });
    expect(pickThreshold(scores, 0.99)).toEqual({ threshold: 0.2, controlFpr: 0.9 });
  });

  it("with too few controls for the target, flags none: the next double above the top score", () => {
    const { threshold, controlFpr } = pickThreshold([0.2, 0.7, 0.4], 0.01);
    expect(controlFpr).toBe(0);
    expect(threshold).toBeGreaterThan(0.7);
    expect(threshold - 0.7).toBe(2 ** -53); // one ulp above 0.7 (in [0.5, 1) doubles are 2⁻⁵³ apart)
  });

  it("relabels rows with >=, leaving probabilities alone", () => {
    const scores = {
      proba: [
        [0.4, 0.6],
        [0.7, 0.3],
        [0.5, 0.5],
      ],
      labels: [1, 0, 0],
    };
    expect(applyThreshold(scores, 0.5, [3, 8])).toEqual({ proba: scores.proba, labels: [8, 3, 8] });
    expect(applyThreshold(scores, undefined, [3, 8])).toBe(scores);
  });
});

describe("the bootstrap", () => {
  it("draws the same resamples for the same seed, others for another, all rows in range", () => {
    const a = bootstrapIndices(50, 20, 1);
    expect(bootstrapIndices(50, 20, 1)).toEqual(a);
    expect(bootstrapIndices(50, 20, 2)).not.toEqual(a);
    expect(a.every((r) => r.length === 50 && r.every((i) => i < 50))).toBe(true);
    expect(new Set(a.flatMap((r) => [...r])).size).toBeGreaterThan(40);
  });

  it("gives no interval for no values", () => {
    expect(percentileInterval([], 0.95)).toBeNull();
    expect(percentileInterval([3], 0.95)).toEqual({ lower: 3, upper: 3 });
  });
});
