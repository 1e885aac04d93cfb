/**
 * Forged or damaged probe files (issue 11 item 14): whatever a file says, `Probe.load` either
 * returns a probe whose every array agrees with every other, or throws ProbeFileError naming
 * what is wrong. The forgeries re-hash the files, so only validation can catch them. No worker.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Probe, ProbeFileError } from "../../src/index.js";
import type { NamedTensor } from "../../src/persist/safetensors.js";
import {
  f64Tensor,
  FEATURES,
  forgeProbe,
  saveSynthetic,
  syntheticState,
  type ForgeableJson,
} from "../helpers/synthetic-probe.js";

const root = mkdtempSync(join(tmpdir(), "forged-probes-"));
let n = 0;
async function fresh(state = syntheticState()): Promise<string> {
  const path = join(root, `p${n++}`);
  await saveSynthetic(path, state);
  return path;
}

const rows = [Array.from({ length: FEATURES }, (_, i) => i / 7), Array.from({ length: FEATURES }, (_, i) => -i / 5)];

describe("a genuine probe", () => {
  it(
    "loads, survives a no-op forgery (the test's re-hashing is right), " + "and predicts finite probabilities",
    async () => {
      const path = await fresh();
      forgeProbe(path);
      const probe = await Probe.load(path);
      expect(probe.fittedState).toEqual(syntheticState());
      const proba = await probe.predictProbaFromActivations(rows);
      expect(proba.flat().every(Number.isFinite)).toBe(true);
    },
  );

  it("a calibrated threshold loads and relabels the activation rows", async () => {
    const path = await fresh({ ...syntheticState(), threshold: 0.999 });
    const probe = await Probe.load(path);
    expect(probe.threshold).toBe(0.999);
    const proba = await probe.predictProbaFromActivations(rows);
    expect(proba.some((p) => p[1]! > 0.5 && p[1]! < 0.999)).toBe(true); // a row whose label the threshold flips
    expect(await probe.predictFromActivations(rows)).toEqual(proba.map((p) => (p[1]! >= 0.999 ? 1 : 0)));
  });

  it("an ensemble with members and a PCA step loads", async () => {
    const base = syntheticState();
    const member = {
      ...base.model,
      kind: "linear" as const,
      link: "logistic" as const,
      coef: new Float64Array(4).fill(0.5),
      intercept: Float64Array.of(0),
      classes: [0, 1],
    };
    const path = await fresh({
      ...base,
      preprocessing: [
        { kind: "pca", k: 4, mean: new Float64Array(FEATURES), components: new Float64Array(4 * FEATURES).fill(0.1) },
      ],
      model: {
        kind: "ensemble",
        classes: [0, 1],
        members: [member, member],
        coef: new Float64Array(4).fill(0.5),
        intercept: Float64Array.of(0),
      },
    });
    const probe = await Probe.load(path);
    expect((await probe.predictProbaFromActivations(rows)).flat().every(Number.isFinite)).toBe(true);
  });
});

type Forgery = [string, (m: ForgeableJson, t: Record<string, NamedTensor>) => unknown, RegExp];
const forgeries: Forgery[] = [
  ["probe.json is JSON null", () => null, /probe\.json/],
  ["probe.json is a JSON array", () => [], /probe\.json/],
  ["probe.json is a number", () => 42, /probe\.json/],
  ["the state is missing", (m) => void delete m.state, /state/],
  ["the state is null", (m) => void (m.state = null), /state/],
  ["the options are null", (m) => void (m.options = null), /options/],
  ["an option that does not exist", (m) => void (m.options.layerz = 3), /layerz/],
  ["an option of the wrong type", (m) => void (m.options.batchSize = "lots"), /batchSize/],
  ["the tensors entry is missing", (m) => void delete m.tensors, /tensors/],
  [
    "a scaler of 5 for 32 features",
    (_m, t) => void ((t["scaler.mean"] = f64Tensor([0, 0, 0, 0, 0])), (t["scaler.scale"] = f64Tensor([1, 1, 1, 1, 1]))),
    /scaler\.mean.*5.*32/,
  ],
  ["a zero scale", (_m, t) => void (t["scaler.scale"]!.data as Float64Array).fill(0, 3, 4), /scaler\.scale/],
  ["a NaN scale", (_m, t) => void (t["scaler.scale"]!.data as Float64Array).fill(Number.NaN, 7, 8), /scaler\.scale/],
  [
    "an infinite coefficient",
    (_m, t) => void (t["model.coef"]!.data as Float64Array).fill(Number.POSITIVE_INFINITY, 0, 1),
    /model\.coef/,
  ],
  ["an unknown link", (m) => void (m.state.model.link = "tanh"), /link/],
  ["empty classes", (m) => void (m.state.model.classes = []), /classes/],
  ["three classes for a binary logistic model", (m) => void (m.state.model.classes = [0, 1, 2]), /classes/],
  ["duplicate classes", (m) => void (m.state.model.classes = [1, 1]), /classes/],
  ["classes that are not numbers", (m) => void (m.state.model.classes = ["cat", "dog"]), /classes/],
  [
    "coefficients for 31 features",
    (_m, t) => void (t["model.coef"] = f64Tensor(Array(31).fill(1))),
    /model\.coef.*31.*32/,
  ],
  ["a scaler kind that does not exist", (m) => void (m.state.scaler = "minmax"), /scaler/],
  ["hidden size zero", (m) => void (m.state.hidden = 0), /hidden/],
  ["a fractional layer", (m) => void (m.state.layers = [0, 1.5]), /layers/],
  ["no layers", (m) => void (m.state.layers = []), /layers/],
  ["an unknown task", (m) => void (m.state.task = "ranking"), /task/],
  [
    "an ensemble without members",
    (m) => void (m.state.model = { kind: "ensemble", classes: [0, 1], members: [] }),
    /members/,
  ],
  ["an unknown model kind", (m) => void (m.state.model.kind = "opaque"), /kind/],
  ["a PCA step without its arrays", (m) => void (m.state.preprocessing = [{ kind: "pca", k: 4 }]), /preprocessing\.0/],
  [
    "a PCA step with k = 0",
    (m, t) =>
      void (
        (m.state.preprocessing = [{ kind: "pca", k: 0 }]),
        (t["preprocessing.0.mean"] = f64Tensor(Array(FEATURES).fill(0))),
        (t["preprocessing.0.components"] = f64Tensor([]))
      ),
    /\bk\b/,
  ],
  ["a regression task with a logistic model", (m) => void (m.state.task = "regression"), /regression/],
  ["a platt model without its parameters", (m) => void (m.state.model.link = "platt"), /platt/],
  [
    "importances for other layers than the candidates",
    (m) => void ((m.state.candidateLayers = [0, 1, 2]), (m.state.layerImportances = [1])),
    /layerImportances/,
  ],
  ["a threshold that is not a number", (m) => void (m.state.threshold = "high"), /threshold/],
  [
    "a threshold on a probe without probabilities",
    (m) => void ((m.state.model.link = "decision"), (m.state.threshold = 0.5)),
    /threshold/,
  ],
  [
    "a threshold on a regression probe",
    (m) =>
      void (
        (m.state.task = "regression"),
        (m.state.model.link = "identity"),
        (m.state.model.classes = []),
        (m.state.threshold = 0.5)
      ),
    /threshold/,
  ],
  [
    "an array stored as float32",
    (_m, t) => void (t["model.intercept"] = { dtype: "F32", shape: [1], data: Float32Array.of(0) }),
    /model\.intercept/,
  ],
];

describe("a forged probe file gives ProbeFileError", () => {
  it.each(forgeries)("%s", async (_name, mutate, message) => {
    const path = await fresh();
    forgeProbe(path, mutate);
    const err = await Probe.load(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProbeFileError);
    expect((err as ProbeFileError).path).toBe(path);
    expect((err as Error).message).toMatch(message);
  });
});
