/** Option validation: every mistake fails synchronously in the constructor, naming the option. */
import { describe, expect, it } from "vitest";
import { InvalidOptionError, Probe } from "../../src/index.js";
import { parseProbeOptions } from "../../src/config/probe-options.js";

function optionError(options: unknown): InvalidOptionError {
  try {
    new Probe(options as never);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error("expected InvalidOptionError");
}

describe("Probe options", () => {
  it("applies lmprobe's defaults", () => {
    const o = parseProbeOptions({ model: "/m" });
    expect(o).toMatchObject({
      layers: "middle",
      pooling: "last_token",
      classifier: "logistic_regression",
      task: "classification",
      device: "auto",
      backend: "local",
      remote: false,
      batchSize: 8,
      dtype: "float32",
      normalizeLayers: true,
    });
  });

  it("accepts every documented spelling of layers, pooling, classifier and preprocessing", () => {
    for (const layers of ["auto", "fast_auto", "sweep", "sweep:3", "sweep:1-2", -1, [0, 2]] as const)
      expect(parseProbeOptions({ model: "/m", layers }).layers).toEqual(layers);
    for (const inferencePooling of ["max", "min", "all", "score:mean", "activation:max", "score:last_token"])
      parseProbeOptions({ model: "/m", inferencePooling });
    for (const preprocessing of ["standard", "pca:4", "standard+pca:2", ["standard", "pca"], "standard_scaler"])
      parseProbeOptions({ model: "/m", preprocessing, pcaComponents: 3 });
    expect(parseProbeOptions({ model: "/m", task: "regression" }).classifier).toBe("ridge_regression");
    expect(
      parseProbeOptions({ model: "/m", classifier: { estimator: "sklearn.svm.LinearSVC", params: { C: 2 } } })
        .classifier,
    ).toEqual({ estimator: "sklearn.svm.LinearSVC", params: { C: 2 } });
    expect(parseProbeOptions({ layers: 3 }).model).toBeUndefined(); // activations-only probes need no model
  });

  it.each([
    [{ model: "/m", bogus: 1 }, "bogus", "Known options"],
    [{ model: "/m", random_state: 1 }, "random_state", 'use "randomState"'],
    [{ model: "/m", batch_size: 4 }, "batch_size", 'use "batchSize"'],
    [{ model: "" }, "model", "model must name"],
    [{ model: "/m", layers: "sweep:10-5" }, "layers", "START ≤ END"],
    [{ model: "/m", layers: "sweep:0" }, "layers", "N ≥ 1"],
    [{ model: "/m", preprocessing: "pca" }, "pcaComponents", "component count"],
    [{ model: "/m", preprocessing: "whiten" }, "preprocessing", "standard"],
    [{ model: "/m", classifier: { estimator: "os.system" } }, "classifier", "scikit-learn class path"],
    [{ model: "/m", classifier: { estimator: "sklearn_evil.x.Y" } }, "classifier", "scikit-learn class path"],
    [{ model: "/m", task: "regression", classifier: "svm" }, "classifier", "ridge_regression"],
    [{ model: "/m", classifier: "ridge_regression" }, "classifier", "regressor"],
    [{ model: "/m", task: "regression", massMeanAugment: true }, "massMeanAugment", "two classes"],
    [{ model: "/m", pooling: "max" }, "pooling", "inferencePooling"],
    [{ model: "/m", trainPooling: "max" }, "trainPooling", "trainPooling"],
    [{ model: "/m", inferencePooling: "score:median" }, "inferencePooling", "inferencePooling"],
    [{ model: "/m", layers: "auto", autoCandidates: [3] }, "autoCandidates", "at least two"],
    [{ model: "/m", autoCandidates: [1, 2] }, "autoCandidates", "auto"],
    [{ model: "/m", layers: 1.5 }, "layers", "layers"],
    [{ model: "/m", layers: "middel" }, "layers", "layers"],
    [{ model: "/m", layers: [] }, "layers", "at least one"],
    [{ model: "/m", pooling: "max_token" }, "pooling", "pooling"],
    [{ model: "/m", batchSize: 0 }, "batchSize", "batchSize"],
    [{ model: "/m", device: "gpu" }, "device", "cuda:N"],
    [{ model: "/m", dtype: "int8" }, "dtype", "dtype"],
    [{ model: "/m", classifier: "xgboost" }, "classifier", "classifier"],
    [{ model: "/m", task: "ranking" }, "task", "task"],
    [{ model: "/m", remote: true }, "remote", "remote"],
    [{ model: "embedded:gpt5" }, "model", "smollm2-135m"],
    [{ model: "/m", runtime: {} }, "runtime", "runtime"],
  ])("rejects %j naming %s", (options, option, text) => {
    const err = optionError(options);
    expect(err.option).toBe(option);
    expect(err.code).toBe("INVALID_OPTION");
    expect(err.message).toContain(text);
  });
});
