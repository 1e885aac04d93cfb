/**
 * Probe: train a linear probe on a language model's activations and run it on new text.
 * TypeScript validates, resolves the model and keeps the fitted state; the worker extracts
 * activations and fits scikit-learn.
 */
import { ActivationCache } from "../cache/activation-cache.js";
import { modelCacheKey } from "../cache/model-identity.js";
import { parseProbeOptions, type Pooling, type ProbeOptions, type ResolvedProbeOptions } from "../config/probe-options.js";
import { cacheMaxGb, defaultCacheDir } from "../env/paths.js";
import { InvalidInputError, NotFittedError } from "../errors.js";
import { resolveModel } from "../models/resolve-model.js";
import { checkRemoteKey, remoteRequest } from "../remote/remote-settings.js";
import { tensor } from "../protocol/codec.js";
import type { CallOptions, EvaluationResult } from "../types.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import { fittedStateFromWire, labelsFromProba, predictProba, type FittedState } from "./fitted-state.js";
import { resolveLayers } from "./layers.js";
import { pooledActivations, type Activations, type ExtractionProfile, type SourceSettings } from "./activation-source.js";
import { accuracy, evalHash, precisionRecallF1, rocAuc } from "./metrics.js";
import { checkLabels, checkPrompts, trainingData } from "./training-data.js";

/** Per-call options of `fit`. */
export interface FitOptions extends CallOptions {
  /** Python: `invalidate_cache`. Re-extract every prompt and overwrite its cached activations. */
  invalidateCache?: boolean;
  /** Python: `sample_weight`. One weight per training prompt. */
  sampleWeight?: number[];
  /** Python: `batch_size`. Overrides the probe's batch size for this call. */
  batchSize?: number;
}

/** Per-call options of the inference methods. */
export interface PredictOptions extends CallOptions {
  /** Python: `batch_size`. Overrides the probe's batch size for this call. */
  batchSize?: number;
}

/** Where the time of the last `fit`, `warmup` or inference call went. Python: `last_profile_`. */
export interface CallProfile {
  /** Wall time of the whole call. */
  totalSeconds: number;
  extraction: ExtractionProfile;
  /** Fitting the scaler and classifier in the worker (fit only). */
  fitSeconds?: number;
}

/** Per-call options of `warmup`. */
export interface WarmupOptions extends PredictOptions {
  /** Python: `invalidate_cache`. Re-extract and overwrite. */
  invalidateCache?: boolean;
  /** Also cache every token's activations, from which any pooling is later derived without the model. */
  fullSequence?: boolean;
}

/** What `warmup` did. */
export interface WarmupResult {
  /** Distinct prompts asked for. */
  prompts: number;
  /** Of those, how many were already fully cached. */
  cached: number;
}

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
export class Probe implements AsyncDisposable {
  /** The options with defaults applied. */
  readonly options: Readonly<ResolvedProbeOptions>;
  private readonly runtime: PythonRuntime;
  private readonly ownsRuntime: boolean;
  private source: Promise<SourceSettings & { numLayers: number }> | undefined;
  private cache: ActivationCache | undefined;
  private state: FittedState | undefined;
  /** Where the time of the last call went (fit, warmup, predictProba and the methods built on it). */
  lastProfile: CallProfile | undefined;

  /** @throws {InvalidOptionError} for unknown, mistyped or inconsistent options. */
  constructor(options: ProbeOptions) {
    this.options = Object.freeze(parseProbeOptions(options));
    this.ownsRuntime = this.options.runtime === undefined;
    this.runtime = this.options.runtime ?? new PythonRuntime();
    checkRemoteKey(this.options, (name) => this.runtime.envValue(name));
  }

  /** Class labels, in the order of `predictProba`'s columns. Python: `classes_`. */
  get classes(): number[] {
    return [...this.fitted("classes").model.classes];
  }

  /** Decoder blocks the probe reads, ascending. Python: `selected_layers_`. */
  get selectedLayers(): number[] {
    return [...this.fitted("selectedLayers").layers];
  }

  /** The fitted scaler and classifier as plain arrays. */
  get fittedState(): Readonly<FittedState> {
    return this.fitted("fittedState");
  }

  /** True once `fit` has succeeded. */
  get isFitted(): boolean {
    return this.state !== undefined;
  }

  /**
   * Trains the probe: contrastive `fit(positivePrompts, negativePrompts)` or labelled
   * `fit(prompts, labels)`. Python: `fit`.
   * @throws {InvalidInputError} for empty sets, mismatched labels or a single class.
   */
  async fit(positiveOrPrompts: string[], negativeOrLabels: string[] | number[], options: FitOptions = {}): Promise<this> {
    const started = performance.now();
    const data = trainingData(positiveOrPrompts, negativeOrLabels);
    const weights = options.sampleWeight;
    if (weights !== undefined) {
      if (!Array.isArray(weights) || weights.length !== data.prompts.length || weights.some((w) => typeof w !== "number" || !Number.isFinite(w))) {
        throw new InvalidInputError("sampleWeight", `sampleWeight must hold ${data.prompts.length} finite numbers, one per training prompt.`);
      }
    }
    const layers = await this.layers(options);
    // The fit request needs the worker whatever the cache holds: start it now, so Python's
    // import time overlaps the cache reads (all input checks have passed by here).
    this.runtime.prewarm(options.onProgress);
    const pooling = this.options.trainPooling ?? this.options.pooling;
    const acts = await this.extract(data.prompts, layers, pooling, options);
    const result = await this.runtime.request(
      "fit",
      {
        X: tensor(acts.data, [acts.n, layers.length, acts.hidden]),
        y: data.labels,
        classifier: this.options.classifier,
        classifier_kwargs: this.options.classifierKwargs ?? {},
        random_state: this.options.randomState ?? null,
        normalize_layers: this.options.normalizeLayers,
        sample_weight: weights ?? null,
      },
      options,
    );
    this.state = fittedStateFromWire(result, layers);
    this.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: acts.profile, fitSeconds: Number(result.seconds) };
    return this;
  }

  /**
   * Extracts and caches the activations of `prompts` for this probe's layers and training
   * pooling, without training. Python: `warmup`.
   */
  async warmup(prompts: string[], options: WarmupOptions = {}): Promise<WarmupResult> {
    const started = performance.now();
    const list = checkPrompts(prompts);
    const layers = await this.layers(options);
    const acts = await this.extract(list, layers, this.options.trainPooling ?? this.options.pooling, options);
    this.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: acts.profile };
    return { prompts: new Set(list).size, cached: acts.cachedPrompts };
  }

  /** Class probabilities, one row per prompt, columns in `classes` order. Python: `predict_proba`. */
  async predictProba(prompts: string[], options: PredictOptions = {}): Promise<number[][]> {
    const started = performance.now();
    const state = this.fitted("predictProba");
    const list = checkPrompts(prompts);
    const pooling = this.options.inferencePooling ?? this.options.pooling;
    const acts = await this.extract(list, state.layers, pooling, options);
    const proba = predictProba(state, acts.data, acts.n);
    this.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: acts.profile };
    return proba;
  }

  /** Predicted class labels: the argmax of `predictProba`. Python: `predict`. */
  async predict(prompts: string[], options: PredictOptions = {}): Promise<number[]> {
    const state = this.fitted("predict");
    return labelsFromProba(state, await this.predictProba(prompts, options));
  }

  /** Accuracy on labelled prompts. Python: `score`. */
  async score(prompts: string[], labels: number[], options: PredictOptions = {}): Promise<number> {
    const list = checkPrompts(prompts);
    const truth = checkLabels(labels, list.length);
    return accuracy(truth, await this.predict(list, options));
  }

  /** Accuracy, AUROC, F1, precision and recall on labelled prompts. Python: `evaluate`. */
  async evaluate(prompts: string[], labels: number[], options: PredictOptions = {}): Promise<EvaluationResult> {
    const state = this.fitted("evaluate");
    const list = checkPrompts(prompts);
    const truth = checkLabels(labels, list.length);
    const proba = await this.predictProba(list, options);
    const predicted = labelsFromProba(state, proba);
    const positive = state.model.classes.indexOf(1);
    return {
      accuracy: accuracy(truth, predicted),
      auroc: positive >= 0 && proba[0]?.length === 2 ? rocAuc(truth, proba.map((r) => r[positive] as number)) : null,
      ...precisionRecallF1(truth, predicted),
      nEval: list.length,
      evalHash: evalHash(list, truth),
    };
  }

  /** Stops the probe's own worker (a shared `runtime` stays open). Idempotent. */
  async close(): Promise<void> {
    this.cache?.close();
    this.cache = undefined; // a probe on a shared runtime may be used again: it reopens the cache
    this.source = undefined;
    if (this.ownsRuntime) await this.runtime.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private fitted(method: string): FittedState {
    if (!this.state) throw new NotFittedError(method);
    return this.state;
  }

  /** Resolves the model and opens the cache once (retried on the next call after a failure). */
  private settings(options: CallOptions): Promise<SourceSettings & { numLayers: number }> {
    if (!this.source) {
      const pending = (async () => {
        const o = this.options;
        const model = await resolveModel(o.model, { runtime: this.runtime, ...(o.revision ? { revision: o.revision } : {}), ...options, weightless: o.remote !== false });
        const dir = o.cacheDir === undefined ? defaultCacheDir() : o.cacheDir;
        const remote = remoteRequest(o, model, dir);
        const settings: SourceSettings & { numLayers: number } = { runtime: this.runtime, modelPath: model.path, dtype: o.dtype, device: o.device, groupByLength: o.groupByLength, numLayers: model.numLayers, backend: o.backend, ...(remote ? { remote } : {}) };
        if (dir !== null) {
          this.cache ??= new ActivationCache(dir, { maxGb: cacheMaxGb() });
          const { modelKey } = await modelCacheKey(model, remote ? { backend: "nnsight-ndif", dtype: "server-float16" } : { backend: o.backend, dtype: o.dtype }, this.cache);
          settings.cache = { store: this.cache, modelKey, dtype: o.cacheDtype };
        }
        return settings;
      })();
      this.source = pending;
      pending.catch(() => {
        if (this.source === pending) this.source = undefined;
      });
    }
    return this.source;
  }

  private async layers(options: CallOptions): Promise<number[]> {
    const { numLayers } = await this.settings(options);
    return resolveLayers(this.options.layers, numLayers, this.options.model);
  }

  private async extract(prompts: string[], layers: number[], pooling: Pooling, options: WarmupOptions): Promise<Activations> {
    const batchSize = options.batchSize ?? this.options.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidInputError("batchSize", "batchSize must be a positive integer.");
    return pooledActivations(await this.settings(options), { ...options, prompts, layers, pooling, batchSize });
  }
}
