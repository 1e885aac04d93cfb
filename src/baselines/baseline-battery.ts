/**
 * BaselineBattery: runs lmprobe 0.10.3's baselines on one train/test split and returns a
 * {@link BaselineTable}. All baselines share one worker; the activation baselines share the
 * Probe's activation cache, so random_direction and pca extract the same layers once.
 */
import { z } from "zod";
import { parseProbeOptions } from "../config/probe-options.js";
import { accuracy, rocAuc } from "../estimator/metrics.js";
import { checkLabels, checkTextPrompts, textPrompts, trainingData } from "../estimator/training-data.js";
import { AbortError, LmprobeError, NotFittedError } from "../errors.js";
import type { CallOptions } from "../types.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import {
  BASELINE_METHODS,
  baselineSchema,
  isActivationBaseline,
  optionError,
  type BaselineMethod,
  type BaselineProbeOptions,
} from "./baseline-options.js";
import { BaselineProbe } from "./baseline-probe.js";
import { bestBaselines, type BaselineRow, type BaselineTable, type SkippedBaseline } from "./baseline-table.js";

/** lmprobe's registry order, without the baselines we do not offer; "shuffled_labels" runs only when included. */
const DEFAULT_BASELINES: readonly BaselineMethod[] = BASELINE_METHODS.filter((m) => m !== "shuffled_labels");

/** Options of {@link BaselineBattery}. Python: `BaselineBattery(...)`. */
export interface BaselineBatteryOptions extends Omit<
  BaselineProbeOptions,
  "method" | "maxFeatures" | "ngramRange" | "baseMethod" | "nComponents"
> {
  /** Python: `include`. Baselines to run (default: every applicable one but "shuffled_labels"). */
  include?: BaselineMethod[];
  /** Python: `exclude`. Baselines to leave out. */
  exclude?: BaselineMethod[];
  /** Python: `scorer(y_true, y_pred)`. @default accuracy */
  scorer?: (truth: number[], predicted: number[]) => number;
}

const batterySchema = baselineSchema
  .omit({ method: true, maxFeatures: true, ngramRange: true, baseMethod: true, nComponents: true })
  .extend({
    include: z.array(z.enum(BASELINE_METHODS)).optional(),
    exclude: z.array(z.enum(BASELINE_METHODS)).default([]),
    scorer: z.custom<(truth: number[], predicted: number[]) => number>((v) => typeof v === "function").optional(),
  });

/** Labelled test prompts. */
export interface BaselineTestSet {
  prompts: string[];
  labels: number[];
}

/** Training data: contrastive sets, or prompts with labels. */
export type BaselineTrainSet = { positive: string[]; negative: string[] } | BaselineTestSet;

/**
 * Runs every applicable baseline and tabulates their test scores. Without `model` only the text
 * baselines run. Python: `BaselineBattery`.
 *
 * @example
 * ```ts
 * const battery = new BaselineBattery({ model: "embedded:smollm2-135m", layers: 15, randomState: 0 });
 * const table = await battery.run({ positive, negative }, { prompts: testPrompts, labels: testLabels });
 * console.table(table.rows);
 * await battery.close();
 * ```
 */
export class BaselineBattery implements AsyncDisposable {
  readonly #options: BaselineBatteryOptions;
  readonly #names: BaselineMethod[];
  readonly #runtime: PythonRuntime;
  readonly #ownsRuntime: boolean;
  readonly #fitted = new Map<BaselineMethod, BaselineProbe>();
  #table: BaselineTable | undefined;

  /** @throws {InvalidOptionError} naming the first bad option. */
  constructor(options: BaselineBatteryOptions = {}) {
    const parsed = batterySchema.safeParse(options);
    if (!parsed.success) throw optionError("BaselineBattery", parsed.error, Object.keys(batterySchema.shape));
    const o = parsed.data;
    const { include, exclude, layers, pooling, classifier, ...rest } = o;
    const { scorer: _scorer, randomState: _seed, ...extraction } = rest;
    // The extraction options are the Probe's: checked now, not when the first activation baseline starts.
    if (o.model !== undefined) parseProbeOptions({ ...extraction, layers, pooling, classifier });
    this.#options = { ...options };
    this.#names = DEFAULT_BASELINES.concat(include?.includes("shuffled_labels") ? ["shuffled_labels"] : [])
      .filter((m) => o.model !== undefined || !isActivationBaseline(m))
      .filter((m) => (include === undefined || include.includes(m)) && !exclude.includes(m));
    this.#names.sort((a, b) => BASELINE_METHODS.indexOf(a) - BASELINE_METHODS.indexOf(b));
    this.#ownsRuntime = options.runtime === undefined;
    this.#runtime = options.runtime ?? new PythonRuntime();
  }

  /** The baselines `run` will run, in order. Python: `applicable_baselines`. */
  get applicableBaselines(): BaselineMethod[] {
    return [...this.#names];
  }

  /** Every baseline this SDK offers. Python: `available_baselines`. */
  static get availableBaselines(): BaselineMethod[] {
    return [...BASELINE_METHODS];
  }

  /** The table of the last `run`. Python: `results_`. */
  get table(): BaselineTable | undefined {
    return this.#table;
  }

  /**
   * Fits each baseline on `train` and scores it on `test` (on the training data when `test` is
   * omitted, as lmprobe). A baseline that fails is listed in `skipped` (lmprobe warns and drops
   * it); an abort stops the run. Python: `BaselineBattery.fit(pos, neg, test_prompts, test_labels)`.
   */
  async run(train: BaselineTrainSet, test?: BaselineTestSet, options: CallOptions = {}): Promise<BaselineTable> {
    const data =
      "positive" in train ? trainingData(train.positive, train.negative) : trainingData(train.prompts, train.labels);
    const trainPrompts = textPrompts(data.prompts, "prompts", "a baseline battery");
    const prompts = test ? checkTextPrompts(test.prompts, "test.prompts", "a baseline battery") : trainPrompts;
    const truth = test ? checkLabels(test.labels, prompts.length, "test.labels") : data.labels;
    const scorer = this.#options.scorer ?? accuracy;
    const rows: BaselineRow[] = [];
    const skipped: SkippedBaseline[] = [];
    for (const old of this.#fitted.values()) await old.close();
    this.#fitted.clear();
    for (const name of this.#names) {
      const baseline = this.#create(name);
      try {
        let started = performance.now();
        await baseline.fit(trainPrompts, data.labels, options);
        const fitSeconds = (performance.now() - started) / 1000;
        started = performance.now();
        const { labels, proba } = await baseline.predictBoth(prompts, options);
        const predictSeconds = (performance.now() - started) / 1000;
        const column = baseline.classes.indexOf(1);
        rows.push({
          name,
          kind: baseline.usesActivations ? "activation" : "text",
          score: scorer(truth, labels),
          accuracy: accuracy(truth, labels),
          auroc:
            proba && column >= 0
              ? rocAuc(
                  truth,
                  proba.map((p) => p[column]!),
                )
              : null,
          fitSeconds,
          predictSeconds,
        });
        this.#fitted.set(name, baseline);
      } catch (err) {
        await baseline.close();
        if (err instanceof AbortError) throw err;
        const message = err instanceof Error ? err.message : String(err);
        skipped.push({ name, message, ...(err instanceof LmprobeError ? { code: err.code } : {}) });
      }
    }
    this.#table = {
      metric: this.#options.scorer ? "custom" : "accuracy",
      rows,
      skipped,
      nTest: prompts.length,
    };
    return this.#table;
  }

  /** The `n` best baselines of the last run. Python: `get_best`. */
  getBest(n = 1): BaselineRow[] {
    if (!this.#table) throw new NotFittedError("getBest", "getBest() needs a run: call run() first.");
    return bestBaselines(this.#table, n);
  }

  /** A fitted baseline of the last run, by name. Python: `get_baseline`. */
  getBaseline(name: BaselineMethod): BaselineProbe {
    const baseline = this.#fitted.get(name);
    if (!baseline)
      throw new NotFittedError(
        "getBaseline",
        `Baseline "${name}" did not run; ran: ${[...this.#fitted.keys()].join(", ")}.`,
      );
    return baseline;
  }

  /** Closes the fitted baselines' cache handles and the battery's own worker (a shared `runtime` stays open). */
  async close(): Promise<void> {
    for (const b of this.#fitted.values()) await b.close();
    this.#fitted.clear();
    if (this.#ownsRuntime) await this.#runtime.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #create(name: BaselineMethod): BaselineProbe {
    const { include: _i, exclude: _e, scorer: _s, ...shared } = this.#options;
    const options: BaselineProbeOptions = { ...shared, method: name, runtime: this.#runtime };
    if (!isActivationBaseline(name)) {
      // lmprobe hands text baselines only the classifier and the seed.
      for (const key of Object.keys(options) as Array<keyof BaselineProbeOptions>)
        if (!["method", "classifier", "randomState", "runtime"].includes(key)) delete options[key];
    }
    return new BaselineProbe(options);
  }
}
