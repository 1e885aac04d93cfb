/**
 * `calibrate` and `calibrateFromActivations`: a binary probe's decision threshold chosen on
 * negative-only control data for a target false-positive rate (rule: estimator/decision-threshold.ts),
 * stored in the fitted state, so `predict` uses it and `save` writes it.
 */
import type { ActivationsInput } from "../estimator/activation-matrix.js";
import {
  checkCalibrationFpr,
  checkControls,
  checkThreshold,
  pickThreshold,
  requireBinaryProba,
  type Calibration,
} from "../estimator/decision-threshold.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { checkPrompts } from "../estimator/training-data.js";
import type { CallOptions } from "../types.js";
import type { ProbeCore } from "./core.js";
import type { CalibrateOptions } from "./probe-types.js";

/** Stores the threshold picked on the controls' P(classes[1]) and reports it. */
function adoptCalibration(core: ProbeCore, state: FittedState, scores: number[], fpr: number): Calibration {
  const { threshold, controlFpr } = pickThreshold(scores, fpr);
  core.adopt({ ...state, threshold });
  return { threshold, fpr, controlFpr, nControls: scores.length };
}

/** `calibrate(controlPrompts, { fpr })`: scores the controls with the probe's pooling, then picks the threshold. */
export async function calibratePrompts(
  core: ProbeCore,
  controlPrompts: string[],
  options: CalibrateOptions,
): Promise<Calibration> {
  const state = core.fitted("calibrate");
  requireBinaryProba(state, "calibrate");
  const fpr = checkCalibrationFpr(options?.fpr);
  const list = checkPrompts(controlPrompts, "controlPrompts");
  // Probabilities, which no threshold (an earlier calibration) changes; labels are not used.
  const predictions = await core.predictions(list, options, true);
  const proba = predictions.perPrompt?.proba ?? [];
  checkControls(proba.length, "controlPrompts");
  return adoptCalibration(
    core,
    state,
    proba.map((p) => p[1]!),
    fpr,
  );
}

/** `calibrateFromActivations(x, { fpr })`: the same on control activation rows. */
export async function calibrateActivations(
  core: ProbeCore,
  x: ActivationsInput,
  options: CallOptions & { fpr: number },
): Promise<Calibration> {
  const state = core.fitted("calibrateFromActivations");
  requireBinaryProba(state, "calibrateFromActivations");
  const fpr = checkCalibrationFpr(options?.fpr);
  const proba = (await core.scoreActivations(state, x)).proba ?? [];
  checkControls(proba.length, "x");
  return adoptCalibration(
    core,
    state,
    proba.map((p) => p[1]!),
    fpr,
  );
}

/** The `probe.threshold` setter: a finite number sets it, null or undefined clears it. */
export function setThreshold(core: ProbeCore, value: number | null | undefined): void {
  const state = core.fitted("threshold");
  if (value === null || value === undefined) {
    const { threshold: _cleared, ...rest } = state;
    core.adopt(rest);
    return;
  }
  requireBinaryProba(state, "threshold");
  core.adopt({ ...state, threshold: checkThreshold(value) });
}
