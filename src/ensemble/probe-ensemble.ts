/**
 * ProbeEnsemble: several probes voting as one, with lmprobe 0.10.3's semantics (see voting.ts
 * and bootstrap-sample.ts). Members share one worker where the ensemble builds them, and one
 * extraction per prompt batch through the activation cache (shared-extraction.ts).
 */
import type { Prompt } from "../chat/chat-input.js";
import type { ProbeOptions } from "../config/probe-options.js";
import { accuracy } from "../estimator/metrics.js";
import { checkLabels, checkPrompts, checkSampleWeight, trainingData } from "../estimator/training-data.js";
import { InvalidInputError, InvalidOptionError, NotFittedError, NotSupportedError } from "../errors.js";
import { Probe, type FitOptions, type PredictOptions } from "../probe/probe.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import { bootstrapRows, checkGroups, type Groups } from "./bootstrap-sample.js";
import {
  bootstrapSchema,
  checkWeightCount,
  ensembleSchema,
  parseWith,
  type BootstrapOptions,
  type EnsembleOptions,
  type Voting,
} from "./ensemble-options.js";
import { SharedExtraction } from "./shared-extraction.js";
import { argmaxLabels, hardVote, normaliseWeights, positiveStd, softProba } from "./voting.js";

/** Options of `ProbeEnsemble.fit`. */
export interface EnsembleFitOptions extends FitOptions {
  /**
   * Python: `groups`. Group of each training row: a bootstrap member then draws `ceil(n / groups)`
   * rows from every group (weighted by `sampleWeight` within it). Bootstrap ensembles only.
   */
  groups?: Groups;
}

/** How an ensemble was built, for save/load. */
export interface EnsembleProvenance {
  bootstrap: boolean;
  seed: number | null;
  ownedRuntime: PythonRuntime | undefined;
}

/**
 * An ensemble of probes with soft or hard voting. Python: `lmprobe.ensemble.ProbeEnsemble`.
 *
 * @example
 * ```ts
 * const ens = ProbeEnsemble.fromConfigs("embedded:smollm2-135m", [{ layers: 10 }, { layers: 20 }], { randomState: 0 });
 * await ens.fit(positive, negative);
 * console.log(await ens.predictProba(["What a joy"]), await ens.predictionStd(["What a joy"]));
 * await ens.close();
 * ```
 */
export class ProbeEnsemble implements AsyncDisposable {
  readonly #probes: Probe[];
  readonly #weights: number[];
  /** The weights as given (saved as such: normalising twice could move the last bit). */
  readonly #givenWeights: number[] | undefined;
  readonly #voting: Voting;
  readonly #provenance: EnsembleProvenance;
  #fitted = false;
  #shared: SharedExtraction | undefined;

  /** @throws {InvalidOptionError} for an empty probe list, bad weights or an unknown voting. */
  constructor(probes: Probe[], options: EnsembleOptions = {}, provenance?: EnsembleProvenance) {
    if (!Array.isArray(probes) || probes.length === 0 || !probes.every((p) => p instanceof Probe))
      throw new InvalidOptionError("probes", "probes must be a non-empty array of Probe instances.");
    const o = parseWith(ensembleSchema, "ProbeEnsemble", options);
    checkWeightCount(o.weights, probes.length);
    for (const p of probes)
      if (p.options.task !== "classification")
        throw new InvalidOptionError("probes", "ProbeEnsemble votes on classes: every probe must be a classifier.");
    this.#probes = [...probes];
    this.#weights = normaliseWeights(o.weights, probes.length);
    this.#givenWeights = o.weights ? [...o.weights] : undefined;
    this.#voting = o.voting;
    this.#provenance = provenance ?? { bootstrap: false, seed: null, ownedRuntime: undefined };
    this.#fitted = probes.every((p) => p.isFitted) && provenance !== undefined && !provenance.bootstrap;
  }

  /**
   * Builds one probe per config on `model`, each config merged over `shared` (the config wins).
   * Without a shared `runtime` the members share one worker that `close()` stops. Python: `from_configs`.
   */
  static fromConfigs(
    model: string,
    configs: Array<Omit<ProbeOptions, "model">>,
    options: EnsembleOptions & Omit<ProbeOptions, "model"> = {},
  ): ProbeEnsemble {
    if (!Array.isArray(configs) || configs.length === 0)
      throw new InvalidOptionError("configs", "configs must be a non-empty array of probe options.");
    const { weights, voting, ...shared } = options;
    const own = shared.runtime === undefined ? new PythonRuntime() : undefined;
    const runtime = shared.runtime ?? own;
    try {
      const probes = configs.map((c) => new Probe({ ...shared, ...c, model, runtime } as ProbeOptions));
      const ens = { ...(weights ? { weights } : {}), ...(voting ? { voting } : {}) };
      return new ProbeEnsemble(probes, ens, { bootstrap: false, seed: null, ownedRuntime: own });
    } catch (err) {
      void own?.close();
      throw err;
    }
  }

  /**
   * `nResamples` copies of `baseProbe`'s settings (on its worker); `fit` trains each on its own
   * bootstrap resample, drawn like lmprobe's with `np.random.default_rng(randomState)`. Python: `bootstrap`.
   */
  static bootstrap(baseProbe: Probe, options: BootstrapOptions = {}): ProbeEnsemble {
    if (!(baseProbe instanceof Probe)) throw new InvalidOptionError("baseProbe", "baseProbe must be a Probe.");
    const o = parseWith(bootstrapSchema, "ProbeEnsemble.bootstrap", options);
    checkWeightCount(o.weights, o.nResamples);
    const probes = Array.from(
      { length: o.nResamples },
      () => new Probe({ ...baseProbe.options, runtime: baseProbe.runtime } as ProbeOptions),
    );
    const ens = { ...(o.weights ? { weights: o.weights } : {}), voting: o.voting };
    return new ProbeEnsemble(probes, ens, { bootstrap: true, seed: o.randomState ?? null, ownedRuntime: undefined });
  }

  /** The member probes. Python: `probes_`. */
  get probes(): readonly Probe[] {
    return [...this.#probes];
  }

  /** Normalised member weights (sum 1). Python: `weights_`. */
  get weights(): number[] {
    return [...this.#weights];
  }

  /** Python: `voting`. */
  get voting(): Voting {
    return this.#voting;
  }

  /** True once `fit` has succeeded (or for a loaded ensemble). */
  get isFitted(): boolean {
    return this.#fitted;
  }

  /** True for ensembles made by `bootstrap`, and their seed. */
  get provenance(): Readonly<Omit<EnsembleProvenance, "ownedRuntime">> {
    return { bootstrap: this.#provenance.bootstrap, seed: this.#provenance.seed };
  }

  /**
   * Fits every member: on the data as given, or (bootstrap) each on its own resample, with
   * `sampleWeight` resampled alongside. Python: `fit`.
   * @throws {InvalidInputError} for bad data, weights or groups (groups outside a bootstrap).
   */
  async fit(
    positiveOrPrompts: string[],
    negativeOrLabels: string[] | number[],
    options: EnsembleFitOptions = {},
  ): Promise<this> {
    const { groups: rawGroups, ...fitOptions } = options;
    const data = trainingData(positiveOrPrompts, negativeOrLabels);
    const weights = checkSampleWeight(fitOptions.sampleWeight, data.prompts.length);
    const groups = checkGroups(rawGroups, data.prompts.length);
    if (groups && !this.#provenance.bootstrap)
      throw new InvalidInputError("groups", "groups apply to bootstrap ensembles only (ProbeEnsemble.bootstrap).");
    this.#fitted = false;
    await this.#warm(data.prompts, fitOptions);
    if (!this.#provenance.bootstrap) {
      for (const p of this.#probes) await p.fit(positiveOrPrompts, negativeOrLabels, fitOptions);
    } else {
      const draws = bootstrapRows(data.labels, this.#probes.length, this.#provenance.seed, groups, weights);
      for (const [m, rows] of draws.entries()) {
        const memberOptions: FitOptions = { ...fitOptions };
        if (weights) memberOptions.sampleWeight = rows.map((i) => weights[i]!);
        else delete memberOptions.sampleWeight;
        await this.#probes[m]!.fit(
          rows.map((i) => data.prompts[i]!),
          rows.map((i) => data.labels[i]!),
          memberOptions,
        );
      }
    }
    this.#fitted = true;
    return this;
  }

  /**
   * The weighted average of the members' probabilities (whatever the voting), columns in the first
   * member's class order. Python: `predict_proba`.
   * @throws {NotSupportedError} when a member has no probabilities (use hard voting).
   */
  async predictProba(prompts: string[], options: PredictOptions = {}): Promise<number[][]> {
    return softProba(await this.#memberProba("predictProba", prompts, options), this.#weights);
  }

  /** Soft: classes[argmax] of `predictProba`; hard: the majority label (smallest on ties). Python: `predict`. */
  async predict(prompts: string[], options: PredictOptions = {}): Promise<number[]> {
    this.#check("predict");
    if (this.#voting === "soft") return argmaxLabels(await this.predictProba(prompts, options), this.#classes());
    const list = checkPrompts(prompts);
    await this.#warm(list, options);
    const labels: number[][] = [];
    for (const [i, p] of this.#probes.entries()) {
      const predicted = await p.predict(list, options);
      if (Array.isArray(predicted[0]))
        throw new NotSupportedError(
          "predict",
          `Probe ${i} predicts per token (pooling "all"): ensembles need one label per prompt.`,
        );
      labels.push(predicted as number[]);
    }
    return hardVote(labels, this.#weights);
  }

  /** Accuracy of `predict` on labelled prompts. Python: `score`. */
  async score(prompts: string[], labels: number[], options: PredictOptions = {}): Promise<number> {
    const list = checkPrompts(prompts);
    const truth = checkLabels(labels, list.length);
    return accuracy(truth, await this.predict(prompts, options));
  }

  /**
   * Per prompt, the population standard deviation over members of P(second class) — how much
   * they disagree. Python: `prediction_std`.
   */
  async predictionStd(prompts: string[], options: PredictOptions = {}): Promise<number[]> {
    const perMember = await this.#memberProba("predictionStd", prompts, options);
    if (perMember.some((p) => (p[0]?.length ?? 0) < 2))
      throw new NotSupportedError("predictionStd", "predictionStd() needs probabilities of at least two classes.");
    return positiveStd(perMember);
  }

  /** Saves the members (each a Probe folder) and the ensemble's manifest; no pickle. */
  async save(path: string): Promise<void> {
    this.#check("save");
    const { saveEnsemble } = await import("./ensemble-file.js");
    const weights = this.#givenWeights ?? this.#probes.map(() => 1);
    await saveEnsemble(path, this.#probes, { weights, voting: this.#voting, ...this.provenance });
  }

  /** Loads an ensemble saved with `save`; the members share one worker (`overrides.runtime`, or their own). */
  static async load(path: string, overrides: Parameters<typeof Probe.load>[1] = {}): Promise<ProbeEnsemble> {
    const { loadEnsemble } = await import("./ensemble-file.js");
    const loaded = await loadEnsemble(path, overrides);
    const ens = new ProbeEnsemble(
      loaded.probes,
      { weights: loaded.weights, voting: loaded.voting },
      { bootstrap: false, seed: loaded.seed, ownedRuntime: loaded.ownedRuntime },
    );
    ens.#provenance.bootstrap = loaded.bootstrap;
    ens.#fitted = true;
    return ens;
  }

  /** Closes every member and the worker the ensemble started (a shared `runtime` stays open). Idempotent. */
  async close(): Promise<void> {
    await this.#shared?.close();
    for (const p of this.#probes) await p.close();
    await this.#provenance.ownedRuntime?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #check(method: string): void {
    if (!this.#fitted) throw new NotFittedError(method, `${method}() needs a fitted ensemble: call fit() first.`);
  }

  #classes(): number[] {
    return this.#probes[0]!.classes;
  }

  async #memberProba(method: string, prompts: string[], options: PredictOptions): Promise<number[][][]> {
    this.#check(method);
    const list = checkPrompts(prompts);
    await this.#warm(list, options);
    const out: number[][][] = [];
    for (const [i, p] of this.#probes.entries()) {
      const proba = await p.predictProba(list, options).catch((err: unknown) => {
        if (err instanceof NotSupportedError)
          throw new NotSupportedError(method, `Probe ${i}: ${err.message} Use voting "hard" for such members.`);
        throw err;
      });
      if (Array.isArray(proba[0]?.[0]))
        throw new NotSupportedError(
          method,
          `Probe ${i} predicts per token (pooling "all"): ensembles need one row per prompt.`,
        );
      out.push(proba as number[][]);
    }
    return out;
  }

  #warm(prompts: Prompt[], options: PredictOptions): Promise<void> {
    this.#shared ??= new SharedExtraction(this.#probes);
    return this.#shared.warm(prompts, options);
  }
}
