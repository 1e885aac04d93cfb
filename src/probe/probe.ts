/**
 * Probe: train a linear probe on a language model's activations and run it on new text.
 * A thin facade: option parsing, the runtime and the fitted state live in a private core
 * (core.ts), the state getters in probe-view.ts (its base class), extraction in extraction/, the
 * numbers in estimator/, sweeps in sweep.ts.
 */
import { tokenRoles, type Prompt } from "../chat/chat-input.js";
import { parseProbeOptions, type ProbeOptions } from "../config/probe-options.js";
import type { ActivationsInput } from "../estimator/activation-matrix.js";
import type { ImportanceMetric, RowScores } from "../estimator/scoring.js";
import { checkSampleWeight, trainingData } from "../estimator/training-data.js";
import type { CallOptions, EvaluationResult } from "../types.js";
import type { Calibration } from "../estimator/decision-threshold.js";
import { calibrateActivations, calibratePrompts } from "./calibrate.js";
import type { ProbeCore } from "./core.js";
import type { NativeExportResult } from "./export-native.js";
import { computeImportance, evaluatePrompts, scoreActivationRows, scorePrompts } from "./evaluate.js";
import type {
  CalibrateOptions,
  EvaluateOptions,
  ExactOptions,
  FitOptions,
  LabelsOf,
  LoadOverrides,
  PredictOptions,
  ProbaOf,
  WarmupOptions,
  WarmupResult,
} from "./probe-types.js";
import { probeCore, ProbeView } from "./probe-view.js";
import { scoreTokens, type TokenScores } from "./score-tokens.js";
import { sweepFit, sweepLayers, type LayerSweepResult, type ProbeFactory, type SweepArgs } from "./sweep.js";
import { fitActivations, fitPlan, warmup } from "./training.js";

export type {
  CalibrateOptions,
  CallProfile,
  EvaluateOptions,
  FitOptions,
  PredictOptions,
  RemoteOverride,
  WarmupOptions,
  WarmupResult,
  ProbaOf,
  LabelsOf,
  LoadOverrides,
} from "./probe-types.js";
export type { TokenScore, TokenScores } from "./score-tokens.js";

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
export class Probe<O extends ProbeOptions = ProbeOptions> extends ProbeView implements AsyncDisposable {
  readonly #core: ProbeCore;
  #sweep: LayerSweepResult<Probe> | undefined;

  /**
   * `ExactOptions<O>` turns a misspelt key into a compile error (a generic alone accepts any key).
   * @throws {InvalidOptionError} for unknown, mistyped or inconsistent options.
   */
  constructor(options: O & ExactOptions<O>) {
    super(options);
    this.#core = probeCore(this);
  }

  /** Per-layer probes of the last sweep fit (`layers: "sweep…"`). Python: `sweep_result_`. */
  get sweepResult(): LayerSweepResult<Probe> | undefined {
    return this.#sweep;
  }

  /**
   * Trains the probe: contrastive `fit(positivePrompts, negativePrompts)` or labelled
   * `fit(prompts, labels)` (integer classes, or any numbers for regression). Python: `fit`.
   * @throws {InvalidInputError} for empty sets, mismatched labels, a single class or bad weights.
   */
  async fit(
    positiveOrPrompts: Prompt[],
    negativeOrLabels: Prompt[] | number[],
    options: FitOptions = {},
  ): Promise<this> {
    const core = this.#core;
    const data = trainingData(positiveOrPrompts, negativeOrLabels, core.options.task, tokenRoles(core.options.tokens));
    const weights = checkSampleWeight(options.sampleWeight, data.prompts.length);
    const plan = await core.session.plan(options);
    if (plan.mode !== "sweep") {
      await fitPlan(core, plan, data, weights, options);
      return this;
    }
    const { result, best } = await sweepFit(core, plan.layers, data, weights, options, factory);
    this.#sweep = result;
    core.adopt(best);
    return this;
  }

  /**
   * Extracts and caches the activations of `prompts` for this probe's layers and training pooling. Python: `warmup`.
   */
  warmup(prompts: Prompt[], options: WarmupOptions = {}): Promise<WarmupResult> {
    return warmup(this.#core, prompts, options);
  }

  /**
   * Class probabilities: one row per prompt in `classes` order, or with inference pooling "all"
   * one row per real token of each prompt. Python: `predict_proba`.
   * @throws {NotSupportedError} for regression probes and classifiers without probabilities.
   */
  predictProba(prompts: Prompt[], options?: PredictOptions): Promise<ProbaOf<O>>;
  async predictProba(prompts: Prompt[], options: PredictOptions = {}): Promise<number[][] | number[][][]> {
    this.#core.requireProba(this.#core.fitted("predictProba"), "predictProba");
    const out = await this.#core.predictions(prompts, options);
    return out.perToken ? out.perToken.map((t) => t.proba ?? []) : (out.perPrompt?.proba ?? []);
  }

  /**
   * Predicted labels (the argmax of the probabilities), regression values, or per token with pooling "all".
   * Python: `predict`.
   */
  predict(prompts: Prompt[], options?: PredictOptions): Promise<LabelsOf<O>>;
  async predict(prompts: Prompt[], options: PredictOptions = {}): Promise<number[] | number[][]> {
    const regression = this.#core.fitted("predict").task === "regression";
    const out = await this.#core.predictions(prompts, options);
    const pick = (s: RowScores | undefined) => (regression ? s?.values : s?.labels) ?? [];
    return out.perToken ? out.perToken.map(pick) : pick(out.perPrompt);
  }

  /**
   * Per-token scores of one prompt or conversation, with each token's span in the text (UTF-16
   * offsets: `text.slice(start, end)`), for highlighting. Not in lmprobe.
   */
  scoreTokens(input: Prompt, options: CallOptions = {}): Promise<TokenScores> {
    return scoreTokens(this.#core, input, options);
  }

  /** Accuracy (classification) or R² (regression) on labelled prompts. Python: `score`. */
  score(prompts: Prompt[], labels: number[], options: PredictOptions = {}): Promise<number> {
    return scorePrompts(this.#core, prompts, labels, options);
  }

  /**
   * Metrics on labelled prompts: accuracy, AUROC, F1, precision, recall (macro averages for
   * more than two classes), or R², MSE and MAE for regression. A swept probe moves to the best
   * layer on these labels, like lmprobe. Python: `evaluate`. Binary probes also give, on request,
   * `recallAtFpr` and `roc` (`fpr: [0.01]`, `roc: true`) and bootstrap intervals (`bootstrap: { n, seed }`).
   * @throws {InvalidOptionError} naming a bad monitoring option, or one this probe cannot answer.
   */
  evaluate(prompts: Prompt[], labels: number[], options: EvaluateOptions = {}): Promise<EvaluationResult> {
    return evaluatePrompts(this.#core, this.#sweep, prompts, labels, options);
  }

  /**
   * Sets the decision threshold from negative-only control prompts: the smallest control score
   * whose false-positive rate on the controls is ≤ `fpr` (details: `Calibration`). Binary probes only.
   * @throws {NotSupportedError} for multiclass, regression or probability-less probes.
   */
  calibrate(controlPrompts: string[], options: CalibrateOptions): Promise<Calibration> {
    return calibratePrompts(this.#core, controlPrompts, options);
  }

  /** `calibrate` on control activation rows (layers concatenated, as `predictFromActivations` takes them). */
  calibrateFromActivations(x: ActivationsInput, options: CallOptions & { fpr: number }): Promise<Calibration> {
    return calibrateActivations(this.#core, x, options);
  }

  /**
   * Importance of each layer from the classifier's coefficients (`l2`, `l1`, `mean_abs`,
   * `max_abs`), optionally normalised to sum to 1. Also sets `candidateLayers` and
   * `layerImportances`. Python: `compute_layer_importance`.
   */
  computeLayerImportance(metric: ImportanceMetric = "l2", normalize = true): number[] {
    return computeImportance(this.#core, metric, normalize);
  }

  /**
   * Trains on activations you already have, rows of `nLayers × hidden` features (layers
   * concatenated). As lmprobe: no layer scaler and no preprocessing on this path.
   * Python: `fit_from_activations`.
   */
  async fitFromActivations(
    x: ActivationsInput,
    y: number[],
    options: CallOptions & { sampleWeight?: number[]; nLayers?: number } = {},
  ): Promise<this> {
    await fitActivations(this.#core, x, y, options);
    return this;
  }

  /** Labels (or regression values) for activation rows. Python: `predict_from_activations`. */
  async predictFromActivations(x: ActivationsInput): Promise<number[]> {
    const state = this.#core.fitted("predictFromActivations");
    const scores = await this.#core.scoreActivations(state, x);
    return (state.task === "regression" ? scores.values : scores.labels) ?? [];
  }

  /** Class probabilities for activation rows. Python: `predict_proba_from_activations`. */
  async predictProbaFromActivations(x: ActivationsInput): Promise<number[][]> {
    const state = this.#core.fitted("predictProbaFromActivations");
    this.#core.requireProba(state, "predictProbaFromActivations");
    return (await this.#core.scoreActivations(state, x)).proba ?? [];
  }

  /** Accuracy (classification) or R² (regression) on activation rows. Python: `score_from_activations`. */
  scoreFromActivations(x: ActivationsInput, y: number[]): Promise<number> {
    return scoreActivationRows(this.#core, x, y);
  }

  /** Saves options and fitted state to a folder: a JSON manifest and a safetensors file (no pickle). */
  async save(path: string): Promise<void> {
    const { saveProbe } = await import("../persist/probe-file.js");
    await saveProbe(path, this.#core.options, this.#core.fitted("save"));
  }

  /**
   * Exports the probe for inference without Python (`NativeProbe` from `lmprobe-ts/native`): its
   * model truncated after its highest layer as ONNX, the tokenizer, and the probe, hashed in
   * `native.json`. The folder is replaced crash-safely.
   * @throws {NotSupportedError} for probes that cannot run natively (no model, remote/NDIF, non-float32
   * dtype, a classifier kept in the worker, activation-stage max/min pooling).
   */
  async exportNative(dir: string, options: CallOptions = {}): Promise<NativeExportResult> {
    const { exportNativeFolder } = await import("./export-native.js");
    const core = this.#core;
    return exportNativeFolder(core.runtime, core.options, core.fitted("exportNative"), dir, options);
  }

  /**
   * Loads a probe saved with `save`; it predicts exactly what the saved one did. `overrides`
   * re-point it: another worker or cache, a moved model folder, or local instead of remote runs.
   * @throws {ProbeFileError} for a missing, truncated, tampered or newer-format file.
   */
  static load<L extends ProbeOptions = ProbeOptions>(path: string, overrides?: LoadOverrides): Promise<Probe<L>>;
  static async load(path: string, overrides: LoadOverrides = {}): Promise<Probe> {
    const { loadProbe } = await import("../persist/probe-file.js");
    const { options, state } = await loadProbe(path);
    // The file's options are untrusted: parsed like constructor options before the probe is built.
    const probe = new Probe(parseProbeOptions({ ...options, ...overrides }));
    probeCore(probe).adopt(state);
    return probe;
  }

  /** Sweeps layers: one probe per layer from a single extraction. Python: `Probe.sweep_layers`. */
  static sweepLayers(args: SweepArgs): Promise<LayerSweepResult<Probe>> {
    return sweepLayers(args, factory);
  }

  /**
   * Stops the probe's own worker (a shared `runtime` stays open; the probe reopens its cache if used
   * again). Idempotent.
   */
  async close(): Promise<void> {
    await this.#core.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Sweeps make their per-layer probes here: a Probe and its core, which only this module can read. */
const factory: ProbeFactory<Probe> = (options) => {
  const probe = new Probe(options);
  return { probe, core: probeCore(probe) };
};
