/**
 * The state behind a Probe: options, runtime, extraction session and fitted state, with the
 * operations the public methods and the sweeps share. A calibrated threshold relabels every
 * prediction made here (predict, score, evaluate, the *FromActivations twins). Not exported from
 * the package: a Probe keeps its core in a private field, and sweeps receive cores through the
 * probe factory.
 */
import { parseProbeOptions, type ProbeOptions, type ResolvedProbeOptions } from "../config/probe-options.js";
import { toRows, type ActivationsInput } from "../estimator/activation-matrix.js";
import { applyThreshold } from "../estimator/decision-threshold.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { predictPrompts, type Predictions } from "../estimator/inference.js";
import { resolveInferencePooling, type InferenceStage } from "../estimator/pooling.js";
import { hasProba, scoreRows, type OpaqueScorer, type RowScores } from "../estimator/scoring.js";
import { tokenRoles, type Prompt } from "../chat/chat-input.js";
import { checkPrompts } from "../estimator/training-data.js";
import { NotFittedError, NotSupportedError } from "../errors.js";
import type { ExtractionProfile } from "../extraction/activation-source.js";
import { ExtractionSession } from "../extraction/session.js";
import { scoresFromWire, scoreToWire } from "../protocol/score.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import type { CallProfile, PredictOptions } from "./probe-types.js";

/** Labels from a calibrated threshold, where the state has one (per prompt and per token alike). */
function withThreshold(state: FittedState, out: Predictions): Predictions {
  const { threshold, model } = state;
  if (threshold === undefined) return out;
  return {
    ...(out.perPrompt ? { perPrompt: applyThreshold(out.perPrompt, threshold, model.classes) } : {}),
    ...(out.perToken ? { perToken: out.perToken.map((t) => applyThreshold(t, threshold, model.classes)) } : {}),
  };
}

/** A probe's options, runtime, session and fitted state. */
export class ProbeCore {
  readonly options: Readonly<ResolvedProbeOptions>;
  readonly runtime: PythonRuntime;
  readonly ownsRuntime: boolean;
  readonly session: ExtractionSession;
  state: FittedState | undefined;
  lastProfile: CallProfile | undefined;

  constructor(options: ProbeOptions) {
    this.options = Object.freeze(parseProbeOptions(options));
    this.ownsRuntime = this.options.runtime === undefined;
    this.runtime = this.options.runtime ?? new PythonRuntime();
    this.session = new ExtractionSession(this.options, this.runtime);
  }

  /** The fitted state, or NotFittedError naming `method`. */
  fitted(method: string): FittedState {
    if (!this.state) throw new NotFittedError(method);
    return this.state;
  }

  /** Checks a prompt list (strings and conversations, under the probe's `tokens` role mask). */
  prompts(prompts: unknown, argument = "prompts"): Prompt[] {
    return checkPrompts(prompts, argument, tokenRoles(this.options.tokens));
  }

  /** Installs a fitted state (fit, load, sweep). */
  adopt(state: FittedState): void {
    this.state = state;
  }

  /** Scores the rows of a custom estimator kept in the worker. */
  readonly opaqueScorer: OpaqueScorer = async (handle, features, rows, width) =>
    scoresFromWire(await this.runtime.call("score", scoreToWire(handle, features, rows, width)), rows);

  /** Predictions for prompts under the probe's inference pooling (`pooled`: never per token). */
  async predictions(
    prompts: Prompt[],
    options: PredictOptions,
    pooled = false,
    stage?: InferenceStage,
  ): Promise<Predictions> {
    const started = performance.now();
    const state = this.fitted("predict");
    const list = this.prompts(prompts);
    let how = stage ?? resolveInferencePooling(this.options.pooling, this.options.inferencePooling);
    // score/evaluate need one prediction per prompt: "all" falls back to the last token there.
    if (pooled && how.stage === "all") how = { stage: "activation", reduction: "last_token" };
    let profile: ExtractionProfile | undefined;
    const out = await predictPrompts(
      state,
      how,
      async (p) => {
        const acts = await this.session.extract(list, state.layers, p, options);
        profile = acts.profile;
        return acts;
      },
      this.opaqueScorer,
    );
    if (profile) this.lastProfile = { totalSeconds: (performance.now() - started) / 1000, extraction: profile };
    return withThreshold(state, out);
  }

  /** Scores user-given activation rows with a state. */
  async scoreActivations(state: FittedState, x: ActivationsInput): Promise<RowScores> {
    const rows = toRows(x);
    const scores = await scoreRows(state, rows.data, rows.n, this.opaqueScorer);
    return applyThreshold(scores, state.threshold, state.model.classes);
  }

  /** Throws NotSupportedError when the state gives no probabilities. */
  requireProba(state: FittedState, method: string): void {
    if (state.task === "regression")
      throw new NotSupportedError(
        method,
        `${method}() is not available for regression probes: use predict() for values.`,
      );
    if (!hasProba(state.model)) {
      const name =
        typeof this.options.classifier === "string" ? this.options.classifier : this.options.classifier.estimator;
      throw new NotSupportedError(
        method,
        `${method}() needs a classifier with probabilities; "${name}" has none ` +
          '(use predict(), or e.g. "logistic_regression").',
      );
    }
  }

  /** Closes the cache and the probe's own runtime (a shared one stays open). */
  async close(): Promise<void> {
    this.session.close();
    if (this.ownsRuntime) await this.runtime.close();
  }
}
