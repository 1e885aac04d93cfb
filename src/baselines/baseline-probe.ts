/**
 * BaselineProbe: lmprobe 0.10.3's baselines (text: `BaselineProbe`, activations:
 * `ActivationBaseline`) behind one class. The feature step and the classifier are fitted in the
 * worker with scikit-learn and kept there under a handle; activations come from the Probe's own
 * extraction path and cache.
 */
import { accuracy } from "../estimator/metrics.js";
import { checkLabels, checkTextPrompts, textPrompts, trainingData } from "../estimator/training-data.js";
import { NotFittedError, NotSupportedError } from "../errors.js";
import {
  baselineFitRequest,
  baselineFittedFromWire,
  type BaselineFitSpec,
  type BaselineFitted,
} from "../protocol/baselines.js";
import { tensor } from "../protocol/codec.js";
import { numbers, rowsOf } from "../protocol/wire-values.js";
import type { CallOptions } from "../types.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import { ActivationFeatures } from "./activation-features.js";
import {
  isActivationBaseline,
  parseBaselineOptions,
  type BaselineMethod,
  type BaselineProbeOptions,
  type ResolvedBaselineOptions,
} from "./baseline-options.js";

/**
 * A baseline to compare a probe with: does the probe beat a bag-of-words on the same text, or a
 * random direction in the same activations? Python: `BaselineProbe` / `ActivationBaseline`.
 *
 * @example
 * ```ts
 * const bow = new BaselineProbe({ method: "bow", randomState: 0 });
 * await bow.fit(positivePrompts, negativePrompts);
 * console.log(await bow.score(testPrompts, testLabels));
 * await bow.close();
 * ```
 */
export class BaselineProbe implements AsyncDisposable {
  readonly #o: ResolvedBaselineOptions;
  readonly #runtime: PythonRuntime;
  readonly #ownsRuntime: boolean;
  readonly #features: ActivationFeatures | undefined;
  #fitted: BaselineFitted | undefined;

  /** @throws {InvalidOptionError} for unknown or mistyped options, or an activation method without `model`. */
  constructor(options: BaselineProbeOptions = {}) {
    this.#o = parseBaselineOptions(options);
    this.#ownsRuntime = options.runtime === undefined;
    this.#runtime = options.runtime ?? new PythonRuntime();
    this.#features = isActivationBaseline(this.#o.method) ? new ActivationFeatures(this.#o, this.#runtime) : undefined;
  }

  /** The baseline's method. Python: `method`. */
  get method(): BaselineMethod {
    return this.#o.method;
  }

  /** True for the activation baselines (random_direction, pca, layer_0). */
  get usesActivations(): boolean {
    return this.#features !== undefined;
  }

  /** Class labels, in the order of `predictProba`'s columns. Python: `classes_`. */
  get classes(): number[] {
    return [...this.#state("classes").classes];
  }

  /** True once `fit` has succeeded. */
  get isFitted(): boolean {
    return this.#fitted !== undefined;
  }

  /** The worker's fit time of the last `fit`, in seconds. */
  get fitSeconds(): number | undefined {
    return this.#fitted?.seconds;
  }

  /**
   * Fits on contrastive examples (positives labelled 1, negatives 0; Python: `fit`), or on
   * `(prompts, labels)` like a Probe.
   * @throws {InvalidInputError} for empty or non-string prompt lists, mismatched labels or one class.
   */
  async fit(
    positiveOrPrompts: string[],
    negativeOrLabels: string[] | number[],
    options: CallOptions = {},
  ): Promise<this> {
    const data = trainingData(positiveOrPrompts, negativeOrLabels);
    const o = this.#o;
    const spec: BaselineFitSpec = {
      method: o.method,
      randomState: o.randomState ?? null,
      y: data.labels,
      ...(o.method === "random" || o.method === "majority" ? {} : { classifier: o.classifier }),
      ...(await this.#inputs(textPrompts(data.prompts, "prompts", "a baseline"), options)),
    };
    if (this.#features) spec.nComponents = o.nComponents;
    else {
      spec.maxFeatures = o.maxFeatures;
      spec.ngramRange = o.ngramRange;
      if (o.method === "shuffled_labels") spec.baseMethod = o.baseMethod;
    }
    const reply = await this.#runtime.call("baseline_fit", baselineFitRequest(spec), options);
    this.#fitted = baselineFittedFromWire(reply);
    return this;
  }

  /** Predicted labels (the classifier's own `predict`, as lmprobe). Python: `predict`. */
  async predict(prompts: string[], options: CallOptions = {}): Promise<number[]> {
    return (await this.#run("predict", prompts, options)).labels;
  }

  /**
   * Class probabilities, one row per prompt in `classes` order. Python: `predict_proba`.
   * @throws {NotSupportedError} for classifiers without probabilities.
   */
  async predictProba(prompts: string[], options: CallOptions = {}): Promise<number[][]> {
    const state = this.#state("predictProba");
    if (!state.hasProba)
      throw new NotSupportedError("predictProba", "predictProba() needs a classifier with probabilities.");
    return (await this.#run("predictProba", prompts, options)).proba ?? [];
  }

  /** Labels and (where the classifier has them) probabilities from one worker call. */
  async predictBoth(prompts: string[], options: CallOptions = {}): Promise<{ labels: number[]; proba?: number[][] }> {
    return this.#run("predict", prompts, options);
  }

  /** Accuracy on labelled prompts: the mean of `predict(prompts) === labels`. Python: `score`. */
  async score(prompts: string[], labels: number[], options: CallOptions = {}): Promise<number> {
    const list = checkTextPrompts(prompts, "prompts", "a baseline");
    const truth = checkLabels(labels, list.length);
    return accuracy(truth, await this.predict(list, options));
  }

  /** Stops the baseline's own worker (a shared `runtime` stays open) and closes its cache handle. Idempotent. */
  async close(): Promise<void> {
    this.#features?.close();
    if (this.#ownsRuntime) await this.#runtime.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #state(method: string): BaselineFitted {
    if (!this.#fitted) throw new NotFittedError(method);
    return this.#fitted;
  }

  async #inputs(prompts: string[], options: CallOptions): Promise<Pick<BaselineFitSpec, "texts" | "X">> {
    if (!this.#features) return { texts: prompts };
    const rows = await this.#features.rows(prompts, options);
    return { X: tensor(rows.data, [rows.n, rows.width]) };
  }

  async #run(
    method: string,
    prompts: string[],
    options: CallOptions,
  ): Promise<{ labels: number[]; proba?: number[][] }> {
    const state = this.#state(method);
    const list = checkTextPrompts(prompts, "prompts", "a baseline");
    const reply = await this.#runtime.call(
      "baseline_predict",
      { handle: state.handle, ...(await this.#inputs(list, options)) },
      options,
    );
    const labels = numbers(reply.predict);
    return reply.proba ? { labels, proba: rowsOf(reply.proba, list.length) } : { labels };
  }
}
