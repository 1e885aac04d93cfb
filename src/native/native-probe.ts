/**
 * NativeProbe: a probe exported with `probe.exportNative(dir)`, run in Node alone. The model runs
 * in onnxruntime, the tokenizer in tokenizers.js, and scoring is the SDK's own TypeScript scoring
 * of fitted arrays (src/estimator), so predictions are the worker path's. No Python, no worker.
 */
import { join, resolve } from "node:path";
import { AbortError, InvalidInputError, NotSupportedError, ProbeFileError } from "../errors.js";
import { evaluatePredictions } from "../estimator/evaluation.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { predictPrompts, type Predictions } from "../estimator/inference.js";
import {
  isPooling,
  resolveInferencePooling,
  type InferencePooling,
  type InferenceStage,
} from "../estimator/pooling.js";
import { hasProba, type OpaqueScorer, type RowScores } from "../estimator/scoring.js";
import { checkLabels, checkTextPrompts } from "../estimator/training-data.js";
import { accuracy, r2Score } from "../estimator/metrics.js";
import { loadProbe } from "../persist/probe-file.js";
import type { EvaluationResult } from "../types.js";
import { verifyNativeFolder, type NativeManifest } from "./manifest.js";
import { extractNative, type BatchPlan } from "./native-extraction.js";
import { NativeModel } from "./native-model.js";
import { NativeTokenizer } from "./native-tokenizer.js";
import { loadNativeDeps, type ModuleImporter } from "./optional-deps.js";

/** Options of {@link NativeProbe.load}. */
export interface NativeLoadOptions {
  /** Threads of one forward pass (onnxruntime's intra-op threads); default: onnxruntime's (all cores). */
  threads?: number;
  /** Prompts per forward pass; default: the probe's `batchSize`. */
  batchSize?: number;
  /**
   * Runs the probe with another inference pooling than the one it was trained with (Python:
   * `inference_pooling`), e.g. a score-level `"max"` for a probe trained on `"mean"`.
   */
  inferencePooling?: InferencePooling;
  /** Cancels loading (between the hash check and opening the model). */
  signal?: AbortSignal;
  /** @internal Replaces `import()` of the optional dependencies (tests simulate a missing one). */
  importModule?: ModuleImporter;
}

/** Per-call options of the inference methods. */
export interface NativePredictOptions {
  /** Cancels the call between forward passes; the promise rejects with `AbortError`. */
  signal?: AbortSignal;
  /** Prompts per forward pass for this call. */
  batchSize?: number;
}

/** One prompt's per-token scores (`scoreTokens`): one row per real token, special tokens included. */
export interface NativeTokenScores {
  /** The prompt's token ids, as the model saw them. */
  tokenIds: number[];
  /** tokens × classes probabilities (classifiers with probabilities). */
  proba?: number[][];
  /** Each token's label (classification). */
  labels?: number[];
  /** Each token's value (regression). */
  values?: number[];
}

const noOpaque: OpaqueScorer = () => {
  throw new NotSupportedError("predict", "A native probe has no worker for a custom estimator.");
};

/** A probe exported with `probe.exportNative(dir)`, run without Python. */
export class NativeProbe implements AsyncDisposable {
  readonly #manifest: NativeManifest;
  readonly #state: FittedState;
  readonly #stage: InferenceStage;
  readonly #tokenizer: NativeTokenizer;
  readonly #plan: { batchSize: number; groupByLength: boolean };
  readonly #classifier: string;
  #model: NativeModel | undefined;

  private constructor(
    manifest: NativeManifest,
    state: FittedState,
    stage: InferenceStage,
    tokenizer: NativeTokenizer,
    model: NativeModel,
    plan: { batchSize: number; groupByLength: boolean },
    classifier: string,
  ) {
    this.#manifest = manifest;
    this.#state = state;
    this.#stage = stage;
    this.#tokenizer = tokenizer;
    this.#model = model;
    this.#plan = plan;
    this.#classifier = classifier;
  }

  /**
   * Loads an exported folder: checks its manifest and every file's sha256, then opens the model.
   * @throws {MissingDependencyError} when onnxruntime-node or @huggingface/tokenizers is not installed.
   * @throws {ProbeFileError} for a newer format, a malformed manifest, or a missing or tampered file.
   */
  static async load(dir: string, options: NativeLoadOptions = {}): Promise<NativeProbe> {
    // The caller's options first: cheap, and before the folder's hashes are computed.
    const batchSize = positive(options.batchSize, "batchSize");
    const threads = positive(options.threads, "threads");
    if (options.inferencePooling !== undefined && !isPooling(options.inferencePooling))
      throw new InvalidInputError(
        "inferencePooling",
        `inferencePooling "${String(options.inferencePooling)}" is not a pooling ` +
          '(use last_token, first_token, mean, max, min, all, or "score:"/"activation:" + a reduction).',
      );
    const deps = await loadNativeDeps(options.importModule);
    const folder = resolve(dir);
    const manifest = await verifyNativeFolder(folder);
    if (options.signal?.aborted) throw new AbortError({ cause: options.signal.reason });
    const { options: probeOptions, state } = await loadProbe(join(folder, manifest.probe));
    const fail = (message: string): never => {
      throw new ProbeFileError(folder, `Cannot load the native folder ${folder}: ${message}`);
    };
    const exported = new Set(manifest.onnx.outputs.map((o) => o.layer));
    const absent = state.layers.filter((l) => !exported.has(l));
    if (absent.length) fail(`the probe reads layers ${absent.join(", ")}, which model.onnx does not output.`);
    if (state.hidden !== manifest.model.hiddenSize)
      fail(`the probe was fitted on ${state.hidden} features per layer, the model has ${manifest.model.hiddenSize}.`);
    const pooling = probeOptions.pooling ?? "last_token";
    const inference = options.inferencePooling ?? probeOptions.inferencePooling;
    if (!isPooling(pooling) || (inference !== undefined && !isPooling(inference)))
      fail("its probe options have an unknown pooling.");
    const stage = resolveInferencePooling(pooling as never, inference as never);
    const plan = {
      batchSize: batchSize ?? numberOr(probeOptions.batchSize, 8),
      groupByLength: probeOptions.groupByLength !== false,
    };
    if (options.signal?.aborted) throw new AbortError({ cause: options.signal.reason });
    // The model first, the tokenizer after: onnxruntime's transient peak while it builds the session
    // then does not stack on the tokenizer's memory (the serving process's peak RSS is lower).
    const model = await NativeModel.open(deps.ort, join(folder, manifest.onnx.file), manifest, {
      ...(threads ? { threads } : {}),
    });
    let tokenizer: NativeTokenizer;
    try {
      const path = join(folder, manifest.tokenizer.file);
      tokenizer = await NativeTokenizer.fromFile(
        deps.tokenizers,
        path,
        manifest.tokenizer,
        manifest.model.maxPositions,
      );
    } catch (err) {
      await model.release();
      throw err;
    }
    const cls = probeOptions.classifier;
    const classifier = typeof cls === "string" ? cls : String((cls as { estimator?: unknown })?.estimator);
    return new NativeProbe(manifest, state, stage, tokenizer, model, plan, classifier);
  }

  /** The class labels, in `predictProba`'s column order (empty for regression). */
  get classes(): number[] {
    return [...this.#state.model.classes];
  }

  /** The decoder blocks the probe reads. */
  get layers(): number[] {
    return [...this.#state.layers];
  }

  /** The folder's manifest (model id, revision, fingerprint, exporter versions). */
  get manifest(): Readonly<NativeManifest> {
    return this.#manifest;
  }

  /** Token ids of a prompt, as the model sees it (special tokens added). */
  tokenize(prompt: string): number[] {
    return this.#tokenizer.ids(prompt);
  }

  /** Class probabilities, one row per prompt in `classes` order. Python: `predict_proba`. */
  async predictProba(prompts: string[], options: NativePredictOptions = {}): Promise<number[][]> {
    this.#requireProba("predictProba");
    return (await this.#predictions(prompts, options, "predictProba")).perPrompt!.proba!;
  }

  /** Predicted labels (or regression values), one per prompt. Python: `predict`. */
  async predict(prompts: string[], options: NativePredictOptions = {}): Promise<number[]> {
    const scores = (await this.#predictions(prompts, options, "predict")).perPrompt!;
    return (this.#state.task === "regression" ? scores.values : scores.labels)!;
  }

  /** Accuracy (classification) or R² (regression) on labelled prompts. Python: `score`. */
  async score(prompts: string[], labels: number[], options: NativePredictOptions = {}): Promise<number> {
    const list = checkTextPrompts(prompts, "prompts", "NativeProbe");
    const truth = checkLabels(labels, list.length, "labels", this.#state.task);
    const scores = (await this.#predictions(list, options, "score", true)).perPrompt!;
    return this.#state.task === "regression" ? r2Score(truth, scores.values!) : accuracy(truth, scores.labels!);
  }

  /** The metrics of `Probe.evaluate` (accuracy, AUROC, F1... or R², MSE, MAE). Python: `evaluate`. */
  async evaluate(prompts: string[], labels: number[], options: NativePredictOptions = {}): Promise<EvaluationResult> {
    const list = checkTextPrompts(prompts, "prompts", "NativeProbe");
    const truth = checkLabels(labels, list.length, "labels", this.#state.task);
    const out = await this.#predictions(list, options, "evaluate", true);
    return evaluatePredictions(this.#state.task, this.#state.model.classes, list, truth, out);
  }

  /**
   * Every real token's scores, before the inference pooling reduces them (e.g. which token gave
   * the max of a score-level `"max"` pooling).
   */
  async scoreTokens(prompts: string[], options: NativePredictOptions = {}): Promise<NativeTokenScores[]> {
    let ids: number[][] = [];
    const out = await this.#predictions(prompts, options, "scoreTokens", false, { stage: "all" }, (x) => {
      ids = x;
    });
    return out.perToken!.map((t: RowScores, i) => ({ tokenIds: ids[i]!, ...t }));
  }

  /** Frees the onnxruntime session; later calls fail. */
  async close(): Promise<void> {
    const model = this.#model;
    this.#model = undefined;
    await model?.release();
  }

  /** `await using probe = await NativeProbe.load(dir)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #predictions(
    prompts: string[],
    options: NativePredictOptions,
    method: string,
    pooled = false,
    stage: InferenceStage = this.#stage,
    onIds?: (ids: number[][]) => void,
  ): Promise<Predictions> {
    const list = checkTextPrompts(prompts, "prompts", "NativeProbe");
    const model = this.#model;
    if (!model) throw new NotSupportedError(method, `${method}() was called on a closed NativeProbe: load it again.`);
    let how = stage;
    if (how.stage === "all" && !onIds) {
      if (!pooled)
        throw new NotSupportedError(
          method,
          `${method}() gives one row per prompt; this probe's inference pooling is "all": use scoreTokens().`,
        );
      how = { stage: "activation", reduction: "last_token" }; // score/evaluate: like Probe
    }
    const plan: BatchPlan = {
      batchSize: positive(options.batchSize, "batchSize") ?? this.#plan.batchSize,
      groupByLength: this.#plan.groupByLength,
      signal: options.signal,
    };
    return predictPrompts(
      this.#state,
      how,
      async (pooling) => {
        const { block, ids } = await extractNative(this.#tokenizer, model, list, this.#state.layers, pooling, plan);
        onIds?.(ids);
        return block;
      },
      noOpaque,
    );
  }

  #requireProba(method: string): void {
    if (this.#state.task === "regression")
      throw new NotSupportedError(method, `${method}() is not available for regression probes: use predict().`);
    if (!hasProba(this.#state.model))
      throw new NotSupportedError(
        method,
        `${method}() needs a classifier with probabilities; "${this.#classifier}" has none (use predict()).`,
      );
  }
}

function positive(value: number | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidInputError(option, `${option} must be a positive integer, got ${String(value)}.`);
  return value;
}

const numberOr = (value: unknown, fallback: number) =>
  typeof value === "number" && Number.isInteger(value) && value > 0 ? value : fallback;
