/**
 * Bad options of BaselineProbe, BaselineBattery and ProbeEnsemble fail at construction with an
 * InvalidOptionError naming the option (no worker is started: runtimes start on their first call).
 */
import { describe, expect, it } from "vitest";
import { BaselineBattery, BaselineProbe, InvalidOptionError, Probe, ProbeEnsemble } from "../../src/index.js";

function optionOf(build: () => unknown): string | undefined {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe("INVALID_OPTION");
    return (err as InvalidOptionError).option;
  }
  return undefined;
}

describe("baseline options", () => {
  it.each([
    ["an unknown method (perplexity is not offered)", { method: "perplexity" }, "method"],
    ["a reversed ngramRange", { ngramRange: [2, 1] }, "ngramRange"],
    ["a zero maxFeatures", { maxFeatures: 0 }, "maxFeatures"],
    ["a negative randomState", { randomState: -1 }, "randomState"],
    ["a baseMethod that is not a feature method", { method: "shuffled_labels", baseMethod: "pca" }, "baseMethod"],
    ["a misspelt key", { random_state: 0 }, "random_state"],
    ["an activation method without a model", { method: "pca" }, "model"],
    ["a fractional nComponents", { method: "pca", model: "/nowhere", nComponents: 1.5 }, "nComponents"],
    ["a pooling the baselines do not take", { method: "layer_0", model: "/nowhere", pooling: "all" }, "pooling"],
    ["a bad extraction option (the Probe's schema)", { method: "pca", model: "/nowhere", batchSize: 0 }, "batchSize"],
  ])("%s", (_name, options, option) => {
    expect(optionOf(() => new BaselineProbe(options as never))).toBe(option);
  });

  it("defaults follow lmprobe (tfidf, logistic regression)", async () => {
    const b = new BaselineProbe();
    expect(b.method).toBe("tfidf");
    expect(b.usesActivations).toBe(false);
    expect(b.isFitted).toBe(false);
    await expect(b.predict(["x"])).rejects.toMatchObject({ code: "NOT_FITTED" });
    await b.close();
  });

  it("the battery validates include/exclude, the scorer and extraction options", async () => {
    expect(optionOf(() => new BaselineBattery({ include: ["bogus"] } as never))).toBe("include");
    expect(optionOf(() => new BaselineBattery({ scorer: 3 } as never))).toBe("scorer");
    expect(optionOf(() => new BaselineBattery({ model: "/nowhere", batchSize: -2 }))).toBe("batchSize");
    const text = new BaselineBattery();
    expect(text.applicableBaselines).toEqual(["bow", "tfidf", "random", "majority", "sentence_length"]);
    const all = new BaselineBattery({ model: "/nowhere", exclude: ["tfidf"] });
    expect(all.applicableBaselines).toEqual([
      "bow",
      "random",
      "majority",
      "sentence_length",
      "random_direction",
      "pca",
      "layer_0",
    ]);
    expect(() => all.getBest()).toThrow(/run\(\) first/);
    await text.close();
    await all.close();
  });
});

describe("ensemble options", () => {
  const probe = () => new Probe({ model: "/nowhere", layers: 0 });
  it.each([
    ["no probes", () => new ProbeEnsemble([]), "probes"],
    ["not a probe", () => new ProbeEnsemble([{}] as never), "probes"],
    ["a weight per probe", () => new ProbeEnsemble([probe(), probe()], { weights: [1] }), "weights"],
    ["weights summing to 0", () => new ProbeEnsemble([probe()], { weights: [0] }), "weights"],
    ["negative weights", () => new ProbeEnsemble([probe(), probe()], { weights: [2, -1] }), "weights"],
    ["an unknown voting", () => new ProbeEnsemble([probe()], { voting: "majority" as never }), "voting"],
    ["a regression member", () => new ProbeEnsemble([new Probe({ task: "regression" })]), "probes"],
    ["zero resamples", () => ProbeEnsemble.bootstrap(probe(), { nResamples: 0 }), "nResamples"],
    ["a fractional seed", () => ProbeEnsemble.bootstrap(probe(), { randomState: 0.5 }), "randomState"],
    [
      "bootstrap weights per resample",
      () => ProbeEnsemble.bootstrap(probe(), { nResamples: 2, weights: [1] }),
      "weights",
    ],
    ["no configs", () => ProbeEnsemble.fromConfigs("/nowhere", []), "configs"],
    ["a bad member config", () => ProbeEnsemble.fromConfigs("/nowhere", [{ layers: "bogus" as never }]), "layers"],
  ])("%s", (_name, build, option) => {
    expect(optionOf(build)).toBe(option);
  });

  it("an unfitted ensemble refuses to predict; groups need a bootstrap", async () => {
    const ens = ProbeEnsemble.fromConfigs("/nowhere", [{ layers: 0 }, { layers: 1 }]);
    expect(ens.weights).toEqual([0.5, 0.5]);
    expect(ens.voting).toBe("soft");
    await expect(ens.predict(["x"])).rejects.toMatchObject({ code: "NOT_FITTED" });
    await expect(ens.fit(["a", "b"], [0, 1], { groups: [0, 1] })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      argument: "groups",
    });
    await ens.close();
  });
});
