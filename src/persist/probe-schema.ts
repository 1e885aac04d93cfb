/**
 * What a saved probe may contain. A probe folder is input from anywhere (a download, a shared
 * drive), and its checksums only catch accidents: whoever edits a file can recompute them. So the
 * manifest is validated whole (zod) before any field is used, and the state's arrays are checked
 * against each other (every length, finite values, positive scales, classes that fit the link)
 * before the probe exists: a forged file fails with ProbeFileError at load, never with a
 * TypeError or NaN predictions later.
 */
import { z } from "zod";
import { parseProbeOptions } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";
import { LINKS, SCALER_KINDS, type FittedState, type LinearModelState } from "../estimator/fitted-state.js";
import { hasProba } from "../estimator/scoring.js";

/** Reports a problem with the file; throws (ProbeFileError in `loadProbe`). */
export type Fail = (message: string) => never;

const int = z.number().int();

const linearStructure = z.strictObject({
  link: z.enum(LINKS),
  classes: z.array(z.number()),
  plattA: z.number().optional(),
  plattB: z.number().optional(),
});

/** The JSON half of a fitted state, as `saveProbe` writes it (the arrays are in the tensor file). */
export const stateStructureSchema = z.strictObject({
  task: z.enum(["classification", "regression"]),
  layers: z.array(int.nonnegative()).min(1),
  hidden: int.positive(),
  path: z.enum(["prompt", "activations"]),
  scaler: z.enum(SCALER_KINDS),
  preprocessing: z.array(
    z.discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("pca"), k: int.positive() }),
      z.strictObject({ kind: z.literal("standard") }),
    ]),
  ),
  model: z.discriminatedUnion("kind", [
    linearStructure.extend({ kind: z.literal("linear") }),
    z.strictObject({
      kind: z.literal("ensemble"),
      classes: z.array(z.number()),
      members: z.array(linearStructure).min(1),
    }),
  ]),
  candidateLayers: z.array(int.nonnegative()).optional(),
  layerImportances: z.array(z.number()).optional(),
  /** The calibrated decision threshold (binary probes); absent in files saved before it existed. */
  threshold: z.number().optional(),
});

/** The manifest after its format, version and checksum were checked. */
export const manifestBodySchema = z.object({
  format: z.literal("lmprobe-ts/probe"),
  formatVersion: int.positive(),
  createdBy: z.record(z.string(), z.string()).optional(),
  createdAt: z.string().optional(),
  model: z.strictObject({ id: z.string().nullable(), revision: z.string().nullable() }).optional(),
  options: z.record(z.string(), z.unknown()),
  state: stateStructureSchema,
  tensors: z.strictObject({ file: z.literal("probe.safetensors"), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
});

/** A validated manifest body. */
export type ManifestBody = z.output<typeof manifestBodySchema>;

/** Validates every field of the manifest body; the message lists the fields at fault. */
export function parseManifestBody(body: unknown, fail: Fail): ManifestBody {
  const result = manifestBodySchema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join(".") || "(manifest)"}: ${issue.message}`);
  return fail(
    `probe.json is not a valid probe manifest (${problems.join("; ")}). ` +
      "It was edited or written by another program: save the probe again.",
  );
}

/** The file's options must be valid options by themselves (InvalidOptionError becomes a file error). */
export function checkOptionValues(options: Record<string, unknown>, fail: Fail): void {
  try {
    parseProbeOptions(options);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    fail(`the option "${err.option}" in probe.json is invalid: ${err.message}`);
  }
}

/**
 * Checks that a loaded state's arrays agree with each other and with the structure: each array
 * has the length the features flowing into it require, holds finite numbers, scales are positive,
 * and the classes fit the model's link. Throws through `fail` at the first disagreement.
 */
export function checkStateShapes(state: FittedState, fail: Fail): void {
  const bad = (what: string) => fail(`${what}; the file was edited or damaged: save the probe again.`);
  const vector = (name: string, data: Float64Array | undefined, length: number, positive = false) => {
    if (!data) bad(`array "${name}" is missing`);
    if (data!.length !== length) bad(`array "${name}" has ${data!.length} values where ${length} are needed`);
    const at = data!.findIndex((v) => !Number.isFinite(v) || (positive && !(v > 0)));
    if (at >= 0)
      bad(
        `array "${name}" holds ${data![at]} at index ${at}` +
          `${positive ? " (it must be finite and above 0)" : " (it must be finite)"}`,
      );
  };
  if (state.layers.some((l, i) => i > 0 && l <= state.layers[i - 1]!))
    bad(`layers [${state.layers.join(", ")}] are not strictly ascending`);
  const inputWidth = state.layers.length * state.hidden;
  if (state.scaler.kind !== "none") {
    vector("scaler.mean", state.scaler.mean, inputWidth);
    vector("scaler.scale", state.scaler.scale, inputWidth, true);
  } else if (state.scaler.mean || state.scaler.scale) {
    bad(`scaler "none" comes with scaler arrays`);
  }
  let width = inputWidth;
  state.preprocessing.forEach((step, i) => {
    vector(`preprocessing.${i}.mean`, step.mean, width);
    if (step.kind === "standard") return vector(`preprocessing.${i}.scale`, step.scale, width, true);
    if (step.k > width) bad(`preprocessing step ${i} (PCA) keeps k = ${step.k} components of ${width} features`);
    vector(`preprocessing.${i}.components`, step.components, step.k * width);
    width = step.k;
  });
  if (state.massMeanDirection) {
    vector("mass_mean_direction", state.massMeanDirection, inputWidth);
    width += 1;
  }
  const model = state.model;
  if (model.kind === "opaque") bad("an opaque model cannot come from a file");
  if (state.task === "regression" && !(model.kind === "linear" && model.link === "identity")) {
    bad(
      'a regression probe needs a linear model with link "identity", ' +
        `not ${model.kind === "linear" ? `link "${model.link}"` : `an ${model.kind}`}`,
    );
  }
  if (model.kind === "linear") checkLinear(model, "model", width, state.task, bad);
  if (model.kind === "ensemble") {
    checkClasses(model.classes, "model", bad);
    model.members.forEach((member, i) => {
      checkLinear(member, `member.${i}`, width, state.task, bad);
      if (member.link === "decision" || member.link === "identity")
        bad(`ensemble member ${i} has link "${member.link}", which gives no probabilities`);
      if (member.classes.join() !== model.classes.join())
        bad(
          `ensemble member ${i} has classes [${member.classes.join(", ")}], the ensemble [${model.classes.join(", ")}]`,
        );
    });
    vector("model.intercept", model.intercept, model.intercept.length);
    if (model.intercept.length === 0) bad(`array "model.intercept" is empty`);
    vector("model.coef", model.coef, model.intercept.length * width);
  }
  if (state.threshold !== undefined) {
    if (!Number.isFinite(state.threshold)) bad(`threshold ${state.threshold} is not finite`);
    if (state.task !== "classification" || model.classes.length !== 2 || !hasProba(model))
      bad("a threshold is stored, but only binary classifiers with probabilities have one");
  }
  const { candidateLayers: candidates, layerImportances: importances } = state;
  if ((candidates === undefined) !== (importances === undefined))
    bad("candidateLayers and layerImportances must come together");
  if (candidates && importances) {
    if (importances.length !== candidates.length)
      bad(`layerImportances has ${importances.length} values for ${candidates.length} candidateLayers`);
    if (!importances.every(Number.isFinite)) bad("layerImportances holds a value that is not finite");
    if (!state.layers.every((l) => candidates.includes(l)))
      bad(`layers [${state.layers.join(", ")}] are not all among candidateLayers`);
  }
}

function checkClasses(classes: number[], prefix: string, bad: (what: string) => never): void {
  if (classes.length < 2) bad(`${prefix} has ${classes.length} classes; a classifier needs at least 2`);
  if (new Set(classes).size !== classes.length) bad(`${prefix} has duplicate classes [${classes.join(", ")}]`);
}

/** Rows of coefficients each link needs for `k` classes (undefined: either 1 or k, "decision"). */
function rowsFor(link: LinearModelState["link"], k: number): number | undefined {
  switch (link) {
    case "logistic":
    case "platt":
    case "identity":
      return 1;
    case "softmax":
    case "ovr":
      return k;
    case "libsvm":
      return (k * (k - 1)) / 2;
    default:
      return undefined;
  }
}

function checkLinear(
  m: LinearModelState,
  prefix: string,
  width: number,
  task: FittedState["task"],
  bad: (what: string) => never,
): void {
  const rows = m.intercept.length;
  if (m.link === "identity") {
    if (task !== "regression") bad(`${prefix} has link "identity" (regression) in a ${task} probe`);
    if (m.classes.length > 0) bad(`${prefix} is a regression model with classes [${m.classes.join(", ")}]`);
  } else {
    checkClasses(m.classes, prefix, bad);
    if ((m.link === "logistic" || m.link === "platt") && m.classes.length !== 2)
      bad(`${prefix} has link "${m.link}" (binary) but ${m.classes.length} classes`);
  }
  const k = m.classes.length;
  const need = rowsFor(m.link, k);
  const rowsOk = need === undefined ? rows === k || (rows === 1 && k === 2) : rows === need;
  if (!rowsOk)
    bad(
      `${prefix} (link "${m.link}", ${k} classes) has ${rows} coefficient rows ` +
        `where ${need ?? (k === 2 ? `1 or ${k}` : k)} are needed`,
    );
  if (m.coef.length !== rows * width)
    bad(`array "${prefix}.coef" has ${m.coef.length} values for ${rows} row(s) × ${width} features`);
  if (!m.coef.every(Number.isFinite)) bad(`array "${prefix}.coef" holds a value that is not finite`);
  if (!m.intercept.every(Number.isFinite)) bad(`array "${prefix}.intercept" holds a value that is not finite`);
  if (m.link === "platt" && !(Number.isFinite(m.plattA) && Number.isFinite(m.plattB)))
    bad(`${prefix} has link "platt" without finite plattA and plattB`);
  if (m.link === "libsvm") {
    if (!m.probA || !m.probB || m.probA.length !== rows || m.probB.length !== rows)
      bad(`${prefix} (libsvm) needs prob_a and prob_b of ${rows} values`);
    if (![...m.probA!, ...m.probB!].every(Number.isFinite))
      bad(`${prefix} (libsvm) holds a Platt parameter that is not finite`);
  }
}
