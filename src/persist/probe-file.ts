/**
 * Saved probes without pickle: a folder with `probe.json` (format version, versions, options,
 * model id and revision, the state's structure) and `probe.safetensors` (its arrays). Both are
 * hashed in the manifest, so truncation or tampering fails loudly; the folder is written to a
 * temporary sibling and swapped in (atomic-folder.ts), so a crash never destroys the old probe.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ResolvedProbeOptions } from "../config/probe-options.js";
import { NotSupportedError, ProbeFileError } from "../errors.js";
import {
  LINKS,
  SCALER_KINDS,
  type FittedState,
  type LinearModelState,
  type ModelState,
} from "../estimator/fitted-state.js";
import { recoverFolder, writeFolderAtomically, type ReplaceHooks } from "./atomic-folder.js";
import { checkOptionValues, checkStateShapes, parseManifestBody } from "./probe-schema.js";
import { decodeSafetensors, encodeSafetensors, SafetensorsFormatError, type NamedTensor } from "./safetensors.js";
import { checkFileOptions, portableOptions } from "./untrusted-options.js";
import { errorCode, isOneOf, isRecord, parseJsonObject } from "../internal/unknown-values.js";
import { PACKAGE_ROOT } from "../internal/package-root.js";

/** Version of the saved-probe format this build writes; newer files are refused. */
export const PROBE_FORMAT_VERSION = 1;
const FORMAT = "lmprobe-ts/probe";
const MANIFEST = "probe.json";
const TENSORS = "probe.safetensors";

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");
const packageVersion = (): string =>
  String(parseJsonObject(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")).version);

/** Canonical JSON: sorted keys, so the manifest hash does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function f64(data: Float64Array): NamedTensor {
  return { dtype: "F64", shape: [data.length], data };
}

/** Splits the state into a JSON structure and named arrays. */
function flatten(state: FittedState): { structure: Record<string, unknown>; tensors: Record<string, NamedTensor> } {
  const tensors: Record<string, NamedTensor> = {};
  const linear = (m: LinearModelState, prefix: string) => {
    tensors[`${prefix}.coef`] = f64(m.coef);
    tensors[`${prefix}.intercept`] = f64(m.intercept);
    if (m.probA && m.probB) {
      tensors[`${prefix}.prob_a`] = f64(m.probA);
      tensors[`${prefix}.prob_b`] = f64(m.probB);
    }
    return { link: m.link, classes: m.classes, plattA: m.plattA, plattB: m.plattB };
  };
  const model = state.model;
  let modelStructure: Record<string, unknown>;
  if (model.kind === "opaque") {
    throw new NotSupportedError(
      "save",
      `save() cannot store ${model.estimator}: it has no array form, and lmprobe-ts never pickles. ` +
        "Use a linear scikit-learn estimator or a built-in classifier to save the probe.",
    );
  } else if (model.kind === "ensemble") {
    tensors["model.coef"] = f64(model.coef);
    tensors["model.intercept"] = f64(model.intercept);
    modelStructure = {
      kind: "ensemble",
      classes: model.classes,
      members: model.members.map((m, i) => linear(m, `member.${i}`)),
    };
  } else {
    modelStructure = { kind: "linear", ...linear(model, "model") };
  }
  if (state.scaler.mean && state.scaler.scale) {
    tensors["scaler.mean"] = f64(state.scaler.mean);
    tensors["scaler.scale"] = f64(state.scaler.scale);
  }
  state.preprocessing.forEach((step, i) => {
    tensors[`preprocessing.${i}.mean`] = f64(step.mean);
    if (step.kind === "pca") tensors[`preprocessing.${i}.components`] = f64(step.components);
    else tensors[`preprocessing.${i}.scale`] = f64(step.scale);
  });
  if (state.massMeanDirection) tensors.mass_mean_direction = f64(state.massMeanDirection);
  const structure = {
    task: state.task,
    layers: state.layers,
    hidden: state.hidden,
    path: state.path,
    scaler: state.scaler.kind,
    preprocessing: state.preprocessing.map((s) => (s.kind === "pca" ? { kind: "pca", k: s.k } : { kind: "standard" })),
    model: modelStructure,
    candidateLayers: state.candidateLayers,
    layerImportances: state.layerImportances,
    threshold: state.threshold,
  };
  return { structure, tensors };
}

/** Saves a probe's options and state to the folder `path` (replaced atomically if it exists). */
export async function saveProbe(
  path: string,
  options: Readonly<ResolvedProbeOptions>,
  state: FittedState,
  hooks?: ReplaceHooks,
): Promise<void> {
  const target = resolve(path);
  const { structure, tensors } = flatten(state);
  const portable = portableOptions(options);
  const bytes = encodeSafetensors(tensors, { format: FORMAT });
  const body = {
    format: FORMAT,
    formatVersion: PROBE_FORMAT_VERSION,
    createdBy: { lmprobeTs: packageVersion(), node: process.version },
    createdAt: new Date().toISOString(),
    model: { id: options.model ?? null, revision: options.revision ?? null },
    options: portable,
    state: structure,
    tensors: { file: TENSORS, sha256: sha256(bytes) },
  };
  const manifest = { ...body, checksum: sha256(canonical(body)) };
  await writeFolderAtomically(
    target,
    { [TENSORS]: bytes, [MANIFEST]: `${JSON.stringify(manifest, null, 2)}\n` },
    hooks,
  );
}

/** Reads and verifies a saved probe; its options are checked again when the probe is built from them. */
export async function loadProbe(path: string): Promise<{ options: Record<string, unknown>; state: FittedState }> {
  const folder = resolve(path);
  await recoverFolder(folder); // a save that crashed between its two renames left the old probe aside
  const fail: (message: string, cause?: unknown) => never = (message, cause) => {
    throw new ProbeFileError(
      folder,
      `Cannot load the probe at ${folder}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  };
  let manifest: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(join(folder, MANIFEST), "utf8"));
    if (isRecord(parsed)) manifest = parsed; // anything else fails the format check below
  } catch (err) {
    fail(
      errorCode(err) === "ENOENT"
        ? `${MANIFEST} is missing (not a folder written by probe.save()).`
        : `${MANIFEST} is not valid JSON (truncated or edited).`,
      err,
    );
  }
  if (manifest.format !== FORMAT) fail(`${MANIFEST} is not an lmprobe-ts probe manifest.`);
  const version = Number(manifest.formatVersion);
  if (!(version >= 1)) fail(`unknown format version ${String(manifest.formatVersion)}.`);
  if (version > PROBE_FORMAT_VERSION)
    fail(
      `it was written in format version ${version} by a newer lmprobe-ts; ` +
        `this one reads up to version ${PROBE_FORMAT_VERSION}. Upgrade lmprobe-ts.`,
    );
  const { checksum, ...unchecked } = manifest;
  if (checksum !== sha256(canonical(unchecked)))
    fail(`${MANIFEST} does not match its checksum: it was edited or damaged.`);
  const body = parseManifestBody(unchecked, fail);
  const options = checkFileOptions(body.options, fail); // refuses where-fields (cacheDir, remote.host...)
  checkOptionValues(options, fail);
  let bytes: Buffer = Buffer.alloc(0);
  try {
    bytes = await readFile(join(folder, TENSORS));
  } catch (err) {
    fail(`${TENSORS} is missing.`, err);
  }
  if (sha256(bytes) !== body.tensors.sha256)
    fail(`${TENSORS} does not match the hash in ${MANIFEST}: it is truncated or was modified.`);
  let tensors: Record<string, NamedTensor> = {};
  try {
    tensors = decodeSafetensors(bytes, join(folder, TENSORS)).tensors;
  } catch (err) {
    fail(err instanceof SafetensorsFormatError ? err.message : String(err), err);
  }
  const state = unflatten(body.state, tensors, fail);
  checkStateShapes(state, fail);
  return { options, state };
}

/** Readers of the manifest's state structure: a value of the wrong type fails with ProbeFileError. */
function readers(fail: (m: string) => never) {
  const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");
  return {
    record: (v: unknown, what: string): Record<string, unknown> =>
      isRecord(v) ? v : fail(`${what} is not an object.`),
    list: (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : fail(`${what} is not a list.`)),
    numbers: (v: unknown, what: string): number[] => (isNumbers(v) ? v : fail(`${what} is not a list of numbers.`)),
    number: (v: unknown, what: string): number => (typeof v === "number" ? v : fail(`${what} is not a number.`)),
    oneOf: <T extends string>(list: readonly T[], v: unknown, what: string): T =>
      isOneOf(list, v) ? v : fail(`${what} is ${JSON.stringify(v)}, not one of ${list.join(", ")}.`),
  };
}

function unflatten(raw: unknown, tensors: Record<string, NamedTensor>, fail: (m: string) => never): FittedState {
  const r = readers(fail);
  const s = r.record(raw, "state");
  const arr = (name: string): Float64Array => {
    const data = tensors[name]?.data;
    return data instanceof Float64Array ? data : fail(`array "${name}" is missing from ${TENSORS}.`);
  };
  const linear = (raw: unknown, prefix: string): LinearModelState => {
    const m = r.record(raw, prefix);
    const link = r.oneOf(LINKS, m.link, `${prefix}.link`);
    return {
      kind: "linear",
      link,
      coef: arr(`${prefix}.coef`),
      intercept: arr(`${prefix}.intercept`),
      classes: r.numbers(m.classes, `${prefix}.classes`),
      ...(m.plattA !== undefined ? { plattA: r.number(m.plattA, "plattA"), plattB: r.number(m.plattB, "plattB") } : {}),
      ...(link === "libsvm" ? { probA: arr(`${prefix}.prob_a`), probB: arr(`${prefix}.prob_b`) } : {}),
    };
  };
  const m = r.record(s.model, "state.model");
  const model: ModelState =
    m.kind === "ensemble"
      ? {
          kind: "ensemble",
          classes: r.numbers(m.classes, "model.classes"),
          coef: arr("model.coef"),
          intercept: arr("model.intercept"),
          members: r.list(m.members, "model.members").map((x, i) => linear(x, `member.${i}`)),
        }
      : linear(m, "model");
  const scalerKind = r.oneOf(SCALER_KINDS, s.scaler, "state.scaler");
  return {
    task: r.oneOf(["classification", "regression"], s.task, "state.task"),
    layers: r.numbers(s.layers, "state.layers"),
    hidden: r.number(s.hidden, "state.hidden"),
    path: r.oneOf(["prompt", "activations"], s.path, "state.path"),
    scaler:
      scalerKind === "none"
        ? { kind: "none" }
        : { kind: scalerKind, mean: arr("scaler.mean"), scale: arr("scaler.scale") },
    preprocessing: r.list(s.preprocessing, "state.preprocessing").map((raw, i) => {
      const step = r.record(raw, `preprocessing.${i}`);
      return step.kind === "pca"
        ? {
            kind: "pca",
            k: r.number(step.k, `preprocessing.${i}.k`),
            mean: arr(`preprocessing.${i}.mean`),
            components: arr(`preprocessing.${i}.components`),
          }
        : { kind: "standard", mean: arr(`preprocessing.${i}.mean`), scale: arr(`preprocessing.${i}.scale`) };
    }),
    ...(tensors.mass_mean_direction ? { massMeanDirection: arr("mass_mean_direction") } : {}),
    model,
    ...(s.candidateLayers
      ? {
          candidateLayers: r.numbers(s.candidateLayers, "candidateLayers"),
          layerImportances: r.numbers(s.layerImportances, "layerImportances"),
        }
      : {}),
    ...(s.threshold !== undefined ? { threshold: r.number(s.threshold, "state.threshold") } : {}),
  };
}
