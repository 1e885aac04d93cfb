/**
 * Probe: train a linear probe on a language model's activations and run it on new text.
 * TypeScript validates, resolves the model, extracts through the cache and keeps the fitted
 * state (scoring happens here); the worker runs the model and fits scikit-learn.
 */
import { ActivationCache } from "../cache/activation-cache.js";
import { modelCacheKey } from "../cache/model-identity.js";
import { resolveInferencePooling, resolveTrainPooling, type InferenceStage, type VectorPooling } from "../estimator/pooling.js";
import { parseProbeOptions, type ProbeOptions, type ResolvedProbeOptions } from "../config/probe-options.js";
import { cacheMaxGb, defaultCacheDir } from "../env/paths.js";
import { InvalidInputError, InvalidOptionError, NotFittedError, NotSupportedError } from "../errors.js";
import { resolveModel } from "../models/resolve-model.js";
import { checkRemoteKey, remoteJob } from "../extraction/remote-settings.js";
import { scoresFromWire, scoreToWire } from "../protocol/score.js";
import type { CallOptions, EvaluationResult } from "../types.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import { pooledActivations, type Activations, type SourceSettings } from "../extraction/activation-source.js";
import { toRows, type ActivationsInput } from "../estimator/activation-matrix.js";
import { evaluatePredictions } from "../estimator/evaluation.js";
import { runFit } from "./fit.js";
import { checkSampleWeight, expandTokens } from "../estimator/training-data.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { predictPrompts, type Predictions } from "../estimator/inference.js";
import { planLayers, type LayerPlan } from "../extraction/layers.js";
import { accuracy, r2Score } from "../estimator/metrics.js";
import { hasProba, layerImportance, scoreRows, type ImportanceMetric, type OpaqueScorer } from "../estimator/scoring.js";
import { checkLabels, checkPrompts, trainingData } from "../estimator/training-data.js";
import type { CallProfile, FitOptions, PredictOptions, ProbaOf, LabelsOf, RemoteOverride, WarmupOptions, WarmupResult } from "./probe-types.js";

export type { CallProfile, FitOptions, PredictOptions, RemoteOverride, WarmupOptions, WarmupResult, ProbaOf, LabelsOf } from "./probe-types.js";

/**
 * A linear probe on a language model's activations (lmprobe's `Probe`).
 *
 * @example
 * ```ts
 * const probe = new Probe({ model: "embedded:smollm2-135m", layers: 15, randomState: 0 });
 * await probe.fit(["I love it"], ["I hate it"]);
 * console.log(await probe.predict(["What a joy"]));
 * await probe.close();
 * ```
 */
export class Probe<O extends ProbeOptions = ProbeOptions> implements AsyncDisposable {
  /** The options with defaults applied. */
  readonly options: Readonly<ResolvedProbeOptions>;
  /** The worker this probe uses (its own, or the shared `runtime` option). */
  readonly runtime: PythonRuntime;
  private readonly ownsRuntime: boolean;
  /** Resolved model + cache per remote setting ("" = the probe's own; per-call overrides get their own). */
  private readonly sources = new Map<string, Promise<SourceSettings & { numLayers: number }>>();
  private cache: ActivationCache | undefined;
  private state: FittedState | undefined;
  /** Per-layer probes of the last sweep fit (`layers: "sweep…"`). Python: `sweep_result_`. */
  sweepResult: import("./sweep.js").LayerSweepResult | undefined;
  /** Where the time of the last call went (fit, warmup, predictProba and the methods built on it). */
  lastProfile: CallProfile | undefined;

  /** @throws {InvalidOptionError} for unknown, mistyped or inconsistent options. */
  constructor(options: O) {
    this.options = Object.freeze(parseProbeOptions(options));
    this.ownsRuntime = this.options.runtime === undefined;
    this.runtime = this.options.runtime ?? new PythonRuntime();
    checkRemoteKey(this.options, (name) => this.runtime.envValue(name));
  }

  /** Class labels, in the order of `predictProba`'s columns (empty for regression). Python: `classes_`. */
  get classes(): number[] {
    return [...this.fitted("classes").model.classes];
  }

  /** Decoder blocks the probe reads, ascending. Python: `selected_layers_`. */
  get selectedLayers(): number[] {
    return [...this.fitted("selectedLayers").layers];
  }

  /** Layers "auto"/"fast_auto" chose from (or those of the last `computeLayerImportance`). Python: `candidate_layers_`. */
  get candidateLayers(): number[] | undefined {
    return this.state?.candidateLayers ? [...this.state.candidateLayers] : undefined;
  }

  /** Importance of each candidate layer (Group Lasso norms, coefficient norms). Python: `layer_importances_`. */
  get layerImportances(): number[] | undefined {
    return this.state?.layerImportances ? [...this.state.layerImportances] : undefined;
  }

  /** The fitted scaler, preprocessing and model as plain arrays. */
  get fittedState(): Readonly<FittedState> {
    return this.fitted("fittedState");
  }

  /** True once `fit` has succeeded. */
  get isFitted(): boolean {
    return this.state !== undefined;
  }

  /**
   * Trains the probe: contrastive `fit(positivePrompts, negativePrompts)` or labelled
   * `fit(prompts, labels)` (integer classes, or any numbers for regression). Python: `fit`.
   * @throws {InvalidInputError} for empty sets, mismatched labels, a single class or bad weights.
   */
  async fit(positiveOrPrompts: string[], negativeOrLabels: string[] | number[], options: FitOptions = {}): Promise<this> {
    const started = performance.now();
    const data = trainingData(positiveOrPrompts, negativeOrLabels, this.options.task);
    const weights = checkSampleWeight(options.sampleWeight, data.prompts.length);
    const plan = await this.plan(options);
    if (plan.mode === "sweep") {
      const { sweepFit } = await import("./sweep.js");
      await sweepFit(this, plan.layers, data, weights, options);
      return this;
    }
    const layers = "candidates" in plan ? plan.candidates : plan.layers;
    // The fit needs the worker whatever the cache holds: starting it now overlaps Python's
    // import time with the cache reads (all input checks have passed by here).
    this.runtime.prewarm(options.onProgress);
    const pooling = resolveTrainPooling(this.options.pooling, this.options.trainPooling);
    const acts = await this.extractFor(data.prompts, layers, pooling === "all" ? "sequence" : pooling, options);
    let job: { x: Float32Array; n: number; y: number[]; weights?: number[] | undefined } = { x: acts.data, n: acts.n, y: data.labels, weights };
    if (pooling === "all") job = expandTokens(acts.sequences!, layers.length * acts.hidden, data.labels, weights);
    const selection = plan.mode === "fixed" ? undefined : plan.mode;
    const { state, seconds } = await runFit(this.runtime, this.options, { x: job.x, n: job.n, layers, hidden: acts.hidden, y: job.y, sampleWeight: job.weights, path: "prompt", ...(selection ? { selection } : {}) }, options);
    this.adopt(state);
    this.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: acts.profile, fitSeconds: seconds };
    return this;
  }

  /**
   * Extracts and caches the activations of `prompts` for this probe's layers and training
   * pooling, without training. Python: `warmup`.
   */
  async warmup(prompts: string[], options: WarmupOptions = {}): Promise<WarmupResult> {
    const started = performance.now();
    const list = checkPrompts(prompts);
    const plan = await this.plan(options);
    const layers = "candidates" in plan ? plan.candidates : plan.layers;
    const train = resolveTrainPooling(this.options.pooling, this.options.trainPooling);
    const stage = resolveInferencePooling(this.options.pooling, this.options.inferencePooling);
    // Token-level poolings (either stage) need every token: cache full sequences then.
    const tokens = train === "all" || stage.stage !== "activation" || !["last_token", "first_token", "mean"].includes(stage.reduction);
    const acts = await this.extractFor(list, layers, tokens ? "sequence" : (train as VectorPooling), { ...options, cacheOnly: true });
    this.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: acts.profile };
    return { prompts: new Set(list).size, cached: acts.cachedPrompts };
  }

  /**
   * Class probabilities: one row per prompt in `classes` order, or with inference pooling "all"
   * one row per real token of each prompt. Python: `predict_proba`.
   * @throws {NotSupportedError} for regression probes and classifiers without probabilities.
   */
  async predictProba(prompts: string[], options: PredictOptions = {}): Promise<ProbaOf<O>> {
    const state = this.fitted("predictProba");
    this.requireProba(state, "predictProba");
    const out = await this.predictions(prompts, options);
    return (out.perToken ? out.perToken.map((t) => t.proba!) : out.perPrompt!.proba!) as ProbaOf<O>;
  }

  /**
   * Predicted labels (the argmax of the probabilities, as lmprobe), regression values, or with
   * inference pooling "all" one prediction per real token. Python: `predict`.
   */
  async predict(prompts: string[], options: PredictOptions = {}): Promise<LabelsOf<O>> {
    const state = this.fitted("predict");
    const out = await this.predictions(prompts, options);
    const pick = (s: { labels?: number[]; values?: number[] }) => (state.task === "regression" ? s.values! : s.labels!);
    return (out.perToken ? out.perToken.map(pick) : pick(out.perPrompt!)) as LabelsOf<O>;
  }

  /** Accuracy (classification) or R² (regression) on labelled prompts. Python: `score`. */
  async score(prompts: string[], labels: number[], options: PredictOptions = {}): Promise<number> {
    const state = this.fitted("score");
    const list = checkPrompts(prompts);
    const truth = checkLabels(labels, list.length, "labels", state.task);
    const scores = (await this.predictions(list, options, true)).perPrompt!;
    return state.task === "regression" ? r2Score(truth, scores.values!) : accuracy(truth, scores.labels!);
  }

  /**
   * Metrics on labelled prompts: accuracy, AUROC, F1, precision, recall (macro averages for
   * more than two classes), or R², MSE and MAE for regression. Python: `evaluate`.
   */
  async evaluate(prompts: string[], labels: number[], options: PredictOptions = {}): Promise<EvaluationResult> {
    const state = this.fitted("evaluate");
    const list = checkPrompts(prompts);
    const truth = checkLabels(labels, list.length, "labels", state.task);
    if (this.sweepResult) {
      // As lmprobe: a swept probe moves to the layer that scores best on these labels.
      const layerResults = await this.sweepResult.score(list, truth, options);
      const best = this.sweepResult.layers.reduce((b, l) => (layerResults[l]! > layerResults[b]! ? l : b));
      this.adopt(this.sweepResult.get(best).fittedState as FittedState);
      return { ...evaluatePredictions(state.task, this.state!.model.classes, list, truth, await this.predictions(list, options, true)), layerResults, bestLayer: best };
    }
    return evaluatePredictions(state.task, state.model.classes, list, truth, await this.predictions(list, options, true));
  }

  /**
   * Importance of each layer from the classifier's coefficients (`l2`, `l1`, `mean_abs`,
   * `max_abs`), optionally normalised to sum to 1. Also sets `candidateLayers` and
   * `layerImportances`. Python: `compute_layer_importance`.
   */
  computeLayerImportance(metric: ImportanceMetric = "l2", normalize = true): number[] {
    const state = this.fitted("computeLayerImportance");
    if (!["l2", "l1", "mean_abs", "max_abs"].includes(metric)) throw new InvalidInputError("metric", `Unknown metric "${metric}": use "l2", "l1", "mean_abs" or "max_abs".`);
    const importances = layerImportance(state, metric, normalize);
    this.state = { ...state, candidateLayers: [...state.layers], layerImportances: importances };
    return importances;
  }

  /**
   * Trains on activations you already have, rows of `nLayers × hidden` features (layers
   * concatenated). As lmprobe: no layer scaler and no preprocessing on this path.
   * Python: `fit_from_activations`.
   */
  async fitFromActivations(x: ActivationsInput, y: number[], options: CallOptions & { sampleWeight?: number[]; nLayers?: number } = {}): Promise<this> {
    const rows = toRows(x);
    const truth = checkLabels(y, rows.n, "y", this.options.task);
    if (this.options.task === "classification" && new Set(truth).size < 2) throw new InvalidInputError("y", "y contains only one class: a classifier needs at least two.");
    const weights = checkSampleWeight(options.sampleWeight, rows.n);
    const nLayers = options.nLayers ?? 1;
    if (!Number.isInteger(nLayers) || nLayers < 1 || rows.d % nLayers !== 0) {
      throw new InvalidInputError("nLayers", `nLayers (${nLayers}) must be a positive integer dividing the ${rows.d} features per row.`);
    }
    const spec = this.options.layers;
    const explicit = typeof spec === "number" ? [spec] : Array.isArray(spec) ? [...spec].sort((a, b) => a - b) : undefined;
    const layers = explicit?.length === nLayers ? explicit : Array.from({ length: nLayers }, (_, i) => i);
    const { state } = await runFit(this.runtime, this.options, { x: rows.data, n: rows.n, layers, hidden: rows.d / nLayers, y: truth, sampleWeight: weights, path: "activations" }, options);
    this.adopt(state);
    return this;
  }

  /** Labels (or regression values) for activation rows. Python: `predict_from_activations`. */
  async predictFromActivations(x: ActivationsInput): Promise<number[]> {
    const state = this.fitted("predictFromActivations");
    const scores = await this.scoreActivations(state, x);
    return state.task === "regression" ? scores.values! : scores.labels!;
  }

  /** Class probabilities for activation rows. Python: `predict_proba_from_activations`. */
  async predictProbaFromActivations(x: ActivationsInput): Promise<number[][]> {
    const state = this.fitted("predictProbaFromActivations");
    this.requireProba(state, "predictProbaFromActivations");
    return (await this.scoreActivations(state, x)).proba!;
  }

  /** Accuracy (classification) or R² (regression) on activation rows. Python: `score_from_activations`. */
  async scoreFromActivations(x: ActivationsInput, y: number[]): Promise<number> {
    const state = this.fitted("scoreFromActivations");
    const scores = await this.scoreActivations(state, x);
    const truth = checkLabels(y, (scores.labels ?? scores.values)!.length, "y", state.task);
    return state.task === "regression" ? r2Score(truth, scores.values!) : accuracy(truth, scores.labels!);
  }

  /** Saves options and fitted state to a folder: a JSON manifest and a safetensors file (no pickle). */
  async save(path: string): Promise<void> {
    const { saveProbe } = await import("../persist/probe-file.js");
    await saveProbe(path, this.options, this.fitted("save"));
  }

  /**
   * Loads a probe saved with `save`; it predicts exactly what the saved one did. `overrides`
   * re-point it: another worker or cache, a moved model folder, or local instead of remote runs.
   * @throws {ProbeFileError} for a missing, truncated, tampered or newer-format file.
   */
  static async load<L extends ProbeOptions = ProbeOptions>(path: string, overrides: Pick<ProbeOptions, "runtime" | "cacheDir" | "device" | "model" | "backend" | "remote" | "maxRetries"> = {}): Promise<Probe<L>> {
    const { loadProbe } = await import("../persist/probe-file.js");
    const { options, state } = await loadProbe(path);
    const probe = new Probe<L>({ ...options, ...overrides } as L);
    probe.adopt(state);
    return probe;
  }

  /** Sweeps layers: one probe per layer from a single extraction. Python: `Probe.sweep_layers`. */
  static async sweepLayers(args: import("./sweep.js").SweepArgs): Promise<import("./sweep.js").LayerSweepResult> {
    const { sweepLayers } = await import("./sweep.js");
    return sweepLayers(args);
  }

  /** Stops the probe's own worker (a shared `runtime` stays open). Idempotent. */
  async close(): Promise<void> {
    this.cache?.close();
    this.cache = undefined; // a probe on a shared runtime may be used again: it reopens the cache
    this.sources.clear();
    if (this.ownsRuntime) await this.runtime.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Installs a fitted state (fit, load, sweep). */
  adopt(state: FittedState): void {
    this.state = state;
  }

  /** @internal Resolves the layer spec against the model's depth. */
  async plan(options: CallOptions): Promise<LayerPlan> {
    const { numLayers } = await this.settings(options);
    return planLayers(this.options.layers, numLayers, this.options.model!, this.options.autoCandidates);
  }

  /** @internal Activations of `layers`, through the cache. */
  async extractFor(prompts: string[], layers: number[], pooling: VectorPooling | "sequence", options: CallOptions & RemoteOverride & { batchSize?: number; invalidateCache?: boolean; fullSequence?: boolean; cacheOnly?: boolean }): Promise<Activations> {
    const batchSize = options.batchSize ?? this.options.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidInputError("batchSize", "batchSize must be a positive integer.");
    return pooledActivations(await this.settings(options), { ...options, prompts, layers, pooling, batchSize });
  }

  /** @internal Predictions for prompts under the probe's inference pooling (`pooled`: never per token). */
  async predictions(prompts: string[], options: PredictOptions, pooled = false, stage?: InferenceStage): Promise<Predictions> {
    const started = performance.now();
    const state = this.fitted("predict");
    const list = checkPrompts(prompts);
    let how = stage ?? resolveInferencePooling(this.options.pooling, this.options.inferencePooling);
    // score/evaluate need one prediction per prompt: "all" falls back to the last token there.
    if (pooled && how.stage === "all") how = { stage: "activation", reduction: "last_token" };
    let profile: Activations["profile"] | undefined;
    const out = await predictPrompts(state, how, async (p) => {
      const acts = await this.extractFor(list, state.layers, p, options);
      profile = acts.profile;
      return acts;
    }, this.opaqueScorer);
    if (profile) this.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: profile };
    return out;
  }

  /** Scores user-given activation rows with a state. */
  private scoreActivations(state: FittedState, x: ActivationsInput) {
    const rows = toRows(x);
    return scoreRows(state, rows.data, rows.n, this.opaqueScorer);
  }

  private readonly opaqueScorer: OpaqueScorer = async (handle, features, rows, width) =>
    scoresFromWire(await this.runtime.call("score", scoreToWire(handle, features, rows, width)), rows);

  private requireProba(state: FittedState, method: string): void {
    if (state.task === "regression") throw new NotSupportedError(method, `${method}() is not available for regression probes: use predict() for values.`);
    if (!hasProba(state.model)) {
      const name = typeof this.options.classifier === "string" ? this.options.classifier : this.options.classifier.estimator;
      throw new NotSupportedError(method, `${method}() needs a classifier with probabilities; "${name}" has none (use predict(), or e.g. "logistic_regression").`);
    }
  }

  private fitted(method: string): FittedState {
    if (!this.state) throw new NotFittedError(method);
    return this.state;
  }

  /**
   * The options a call runs with: the probe's own, or with the call's `remote` / `maxRetries`
   * overrides (validated like constructor options; the NDIF key is checked before anything starts).
   */
  private callOptions(call: RemoteOverride): Readonly<ResolvedProbeOptions> {
    if (call.remote === undefined && call.maxRetries === undefined) return this.options;
    const variant = parseProbeOptions({
      ...this.options,
      ...(call.remote !== undefined ? { remote: call.remote } : {}),
      ...(call.maxRetries !== undefined ? { maxRetries: call.maxRetries } : {}),
    });
    checkRemoteKey(variant, (name) => this.runtime.envValue(name));
    return variant;
  }

  /** Resolves the model and opens the cache once per remote setting (retried on the next call after a failure). */
  private settings(call: CallOptions & RemoteOverride): Promise<SourceSettings & { numLayers: number }> {
    const o = this.callOptions(call);
    const key = o === this.options ? "" : JSON.stringify([o.remote, o.maxRetries]);
    let source = this.sources.get(key);
    if (!source) {
      if (o.model === undefined) {
        throw new InvalidOptionError("model", "This probe has no model: set the model option to extract activations, or use the *FromActivations methods.");
      }
      const { signal, onProgress } = call;
      const pending = (async () => {
        const model = await resolveModel(o.model!, { runtime: this.runtime, ...(o.revision ? { revision: o.revision } : {}), ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}), weightless: o.remote !== false });
        const dir = o.cacheDir === undefined ? defaultCacheDir() : o.cacheDir;
        const remote = remoteJob(o, model, dir, { ...process.env, NDIF_HOST: this.runtime.envValue("NDIF_HOST") });
        const settings: SourceSettings & { numLayers: number } = { runtime: this.runtime, modelPath: model.path, dtype: o.dtype, device: o.device, groupByLength: o.groupByLength, numLayers: model.numLayers, backend: o.backend, ...(remote ? { remote } : {}) };
        if (dir !== null) {
          this.cache ??= new ActivationCache(dir, { maxGb: cacheMaxGb() });
          const { modelKey } = await modelCacheKey(model, remote ? { backend: "nnsight-ndif", dtype: "server-float16" } : { backend: o.backend, dtype: o.dtype }, this.cache);
          settings.cache = { store: this.cache, modelKey, dtype: o.cacheDtype };
        }
        return settings;
      })();
      source = pending;
      this.sources.set(key, pending);
      pending.catch(() => {
        if (this.sources.get(key) === pending) this.sources.delete(key);
      });
    }
    return source;
  }
}
