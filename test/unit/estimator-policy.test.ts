/**
 * Security: options (so a crafted probe.json) cannot put paths, pickle caches or nested estimator
 * parameters into a scikit-learn constructor; refused in the constructor, before Python starts.
 */
import { describe, expect, it } from "vitest";
import { InvalidOptionError, Probe } from "../../src/index.js";

function refusal(options: Record<string, unknown>): InvalidOptionError {
  try {
    new Probe({ model: "/m", layers: 1, ...options } as never);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error("expected InvalidOptionError");
}

describe("custom estimator allow-list", () => {
  it.each([
    [
      { classifier: { estimator: "sklearn.pipeline.Pipeline", params: { memory: "/tmp/x" } } },
      "classifier",
      "not allowed",
    ],
    [{ classifier: { estimator: "sklearn.cluster.FeatureAgglomeration" } }, "classifier", "not allowed"],
    [
      { classifier: { estimator: "sklearn.linear_model._logistic.LogisticRegression" } },
      "classifier",
      "public class path",
    ],
    [{ classifier: { estimator: "sklearn.utils.Bunch" } }, "classifier", "not allowed"],
    [
      { classifier: { estimator: "sklearn.linear_model.LogisticRegression", params: { memory: "cache" } } },
      "classifier.params",
      "pickles",
    ],
    [{ classifierKwargs: { memory: "/tmp/planted" } }, "classifierKwargs", "memory"],
    [{ classifierKwargs: { solver: "/tmp/planted" } }, "classifierKwargs", "no paths"],
    [{ classifierKwargs: { solver: "../x" } }, "classifierKwargs", "no paths"],
    [{ classifierKwargs: { estimator__memory: "x" } }, "classifierKwargs", "plain identifiers"],
    [{ classifierKwargs: { n_jobs: 100_000 } }, "classifierKwargs", "n_jobs"],
    [{ classifierKwargs: { n_jobs: -1 } }, "classifierKwargs", "n_jobs"],
    [{ classifierKwargs: { C: [[1]] } }, "classifierKwargs", "values must be"],
    [{ classifierKwargs: { C: { nested: { deep: 1 } } } }, "classifierKwargs", "values must be"],
    [{ classifierKwargs: { tol: Number.NaN } }, "classifierKwargs", "finite"],
  ])("%j is refused naming %s", (options, option, needle) => {
    const err = refusal(options);
    expect(err.option).toBe(option);
    expect(err.message).toContain(needle);
  });

  it("ordinary parameters pass", () => {
    const ok = [
      { classifier: { estimator: "sklearn.svm.LinearSVC", params: { C: 0.5, penalty: "l2", dual: "auto" } } },
      { classifier: "ensemble", classifierKwargs: { C_values: [0.1, 1.0], solver: "liblinear" } },
      { classifierKwargs: { class_weight: "balanced", tol: 1e-4, random_state: null, n_jobs: 1 } },
      { classifierKwargs: { class_weight: { "0": 1, "1": 2.5 } } },
    ];
    for (const options of ok) expect(() => new Probe({ model: "/m", layers: 1, ...options } as never)).not.toThrow();
  });
});

describe("portable options (what save() writes)", () => {
  it("drops cacheDir, runtime and remote.host, keeps the rest", async () => {
    const { portableOptions } = await import("../../src/persist/untrusted-options.js");
    const saved = portableOptions({
      cacheDir: "/c",
      runtime: {},
      remote: { host: "http://h", timeoutMs: 5 },
      layers: 1,
    });
    expect(saved).toEqual({ remote: { timeoutMs: 5 }, layers: 1 });
  });
});
