/**
 * The typed wire without a worker: camelCase specs become the snake_case bodies the worker reads,
 * and reply bodies (as the codec decodes them) become the fitted state and public events.
 */
import { describe, expect, it } from "vitest";
import { tensor } from "../../src/protocol/codec.js";
import { extractedFromWire, extractToWire } from "../../src/protocol/extract.js";
import { fittedStateFromWire, fitToWire, type FitReply } from "../../src/protocol/fit.js";
import { progressFromWire } from "../../src/protocol/progress.js";
import { REMOTE_DEFAULTS, remoteToWire } from "../../src/protocol/remote.js";
import { scoresFromWire } from "../../src/protocol/score.js";

const f64 = (...v: number[]) => tensor(Float64Array.from(v), [v.length]);

describe("protocol: requests", () => {
  it("fitToWire writes every field the worker reads, in snake_case, and copies the kwargs", () => {
    const kwargs = { C_values: [0.5, 2] };
    const body = fitToWire({
      x: new Float32Array(12),
      n: 2,
      layers: [1, 3],
      hidden: 3,
      y: [0, 1],
      task: "classification",
      classifier: { estimator: "sklearn.svm.LinearSVC" },
      classifierKwargs: kwargs,
      randomState: null,
      normalizeLayers: "per_layer",
      path: "prompt",
      preprocessing: [{ kind: "standard" }, { kind: "pca", components: 4 }],
      massMeanAugment: true,
      sampleWeight: [1, 2],
      selection: { mode: "fast_auto", topK: undefined },
    });
    expect(body.X.shape).toEqual([2, 2, 3]);
    expect(body).toMatchObject({
      classifier: { estimator: "sklearn.svm.LinearSVC", params: {} },
      classifier_kwargs: kwargs,
      random_state: null,
      normalize_layers: "per_layer",
      preprocessing: ["standard", "pca"],
      pca_components: 4,
      mass_mean_augment: true,
      sample_weight: [1, 2],
      layer_selection: { mode: "fast_auto", top_k: null },
    });
    expect(body.classifier_kwargs).not.toBe(kwargs);
  });

  it("extractToWire and remoteToWire: seconds, not milliseconds; no key anywhere", () => {
    const remote = { ...REMOTE_DEFAULTS, repoId: "org/m", revision: null, jobsFile: "/c/ndif-jobs.json" };
    const body = extractToWire({
      model: "/m",
      prompts: ["a"],
      layers: [0],
      pooling: "none",
      batchSize: 4,
      groupByLength: false,
      dtype: "float32",
      device: "cpu",
      backend: "nnsight",
      remote,
    });
    expect(body).toMatchObject({ batch_size: 4, group_by_length: false, pooling: "none", backend: "nnsight" });
    expect(body.remote).toEqual(remoteToWire(remote));
    expect(body.remote).toMatchObject({ repo_id: "org/m", timeout_s: 3600, poll_s: 2, backoff_s: 1, max_retries: 3 });
    expect(JSON.stringify(body)).not.toMatch(/api_key|NDIF_API_KEY/);
  });
});

describe("protocol: replies", () => {
  const linear = (classes: number[]) => ({
    kind: "linear" as const,
    link: "logistic" as const,
    coef: f64(1, 2, 3, 4),
    intercept: f64(0.5),
    classes,
  });

  it("fittedStateFromWire maps auto's selected indices onto the candidate layers and copies arrays", () => {
    const reply: FitReply = {
      n_layers: 1,
      hidden: 4,
      selected: [1],
      importances: f64(0.2, 0.8),
      scaler: { kind: "standard", mean: f64(0, 0, 0, 0), scale: f64(1, 1, 1, 1) },
      preprocessing: [{ kind: "pca", mean: f64(0, 0, 0, 0), components: tensor(new Float64Array(8), [2, 4]) }],
      mass_mean_direction: null,
      model: { ...linear([0, 1]), platt_a: null },
      seconds: 0.1,
    };
    const state = fittedStateFromWire(reply, {
      task: "classification",
      path: "prompt",
      layers: [4, 9],
      candidates: [4, 9],
    });
    expect(state.layers).toEqual([9]);
    expect(state.candidateLayers).toEqual([4, 9]);
    expect(state.layerImportances).toEqual([0.2, 0.8]);
    expect(state.preprocessing[0]).toMatchObject({ kind: "pca", k: 2 });
    expect(state.model).toMatchObject({ kind: "linear", link: "logistic", classes: [0, 1] });
    expect(state.model.kind === "linear" ? state.model.plattA : "not linear").toBeUndefined(); // platt_a: null
    expect(state.scaler.mean).not.toBe(reply.scaler.mean?.data); // a copy: frame buffers are transient
  });

  it("fittedStateFromWire reads ensembles and worker-held (opaque) models", () => {
    const base = {
      n_layers: 1,
      hidden: 2,
      selected: null,
      importances: null,
      scaler: { kind: "none" as const },
      mass_mean_direction: null,
      seconds: 0,
    };
    const ensemble = fittedStateFromWire(
      {
        ...base,
        model: {
          kind: "ensemble",
          members: [linear([0, 1]), linear([0, 1])],
          classes: [0, 1],
          coef: f64(1, 1),
          intercept: f64(0),
        },
      },
      { task: "classification", path: "activations", layers: [0] },
    );
    expect(ensemble.model.kind === "ensemble" && ensemble.model.members).toHaveLength(2);
    const opaque = fittedStateFromWire(
      {
        ...base,
        model: { kind: "opaque", handle: "h1", estimator: "sklearn.svm.SVC", classes: [3, 5], has_proba: false },
      },
      { task: "classification", path: "prompt", layers: [0] },
    );
    expect(opaque.model).toEqual({
      kind: "opaque",
      handle: "h1",
      estimator: "sklearn.svm.SVC",
      classes: [3, 5],
      hasProba: false,
    });
    expect(opaque.candidateLayers).toBeUndefined();
  });

  it("scoresFromWire reads int64 predictions and (rows × classes) probabilities", () => {
    const out = scoresFromWire(
      {
        proba: tensor(Float64Array.from([0.2, 0.8, 0.6, 0.4]), [2, 2]),
        predict: tensor(BigInt64Array.from([1n, 0n]), [2]),
      },
      2,
    );
    expect(out).toEqual({
      proba: [
        [0.2, 0.8],
        [0.6, 0.4],
      ],
      predict: [1, 0],
    });
    expect(scoresFromWire({ proba: null, predict: f64(1.5) }, 1)).toEqual({ predict: [1.5] });
  });

  it("extractedFromWire reads lengths, tokens and the activation width", () => {
    const acts = tensor(new Float32Array(2 * 1 * 3), [2, 1, 3]);
    const out = extractedFromWire({
      activations: acts,
      lengths: tensor(Int32Array.from([2, 5]), [2]),
      tokens: 7,
      seconds: { load: 0, forward: 1, total: 2 },
    });
    expect(out).toMatchObject({ width: 3, lengths: [2, 5], tokens: 7 });
    expect(out.data).toBe(acts.data); // a view: the caller copies what it keeps
  });

  it("progressFromWire maps every stage to the public event and drops unknown stages", () => {
    expect(progressFromWire({ stage: "extract", done: 2, total: 4, tokens: 9 })).toEqual({
      type: "extract",
      completed: 2,
      total: 4,
      tokens: 9,
    });
    expect(progressFromWire({ stage: "model", phase: "loaded", model: "/m" })).toEqual({
      type: "model",
      phase: "loaded",
      model: "/m",
    });
    expect(progressFromWire({ stage: "fit", phase: "done" })).toEqual({ type: "fit", phase: "done" });
    expect(
      progressFromWire({ stage: "remote", status: "RUNNING", host: "h", job_id: "j", batch: 1, batches: 2 }),
    ).toEqual({
      type: "remote",
      status: "RUNNING",
      host: "h",
      jobId: "j",
      batch: 1,
      batches: 2,
    });
    expect(progressFromWire({ stage: "embedded", message: "m" })).toMatchObject({ type: "model", phase: "preparing" });
    expect(progressFromWire({ stage: "unknown" })).toBeUndefined();
  });
});
