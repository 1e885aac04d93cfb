/**
 * A small fitted probe built in TypeScript (no worker): 2 layers × 16 hidden = 32 features, a
 * per-layer scaler and a logistic model. `forgeProbe` rewrites a saved probe the way an attacker
 * with a text editor would, recomputing every hash so only validation can catch the forgery.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseProbeOptions } from "../../src/config/probe-options.js";
import { saveProbe } from "../../src/persist/probe-file.js";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../../src/persist/safetensors.js";
import type { FittedState } from "../../src/estimator/fitted-state.js";

export const FEATURES = 32;

/** A deterministic, valid state: 32 features, classes [0, 1]. */
export function syntheticState(): FittedState {
  const ramp = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  return {
    task: "classification",
    layers: [0, 1],
    hidden: 16,
    path: "prompt",
    scaler: { kind: "per_neuron", mean: ramp(FEATURES, (i) => i / 10), scale: ramp(FEATURES, (i) => 1 + i / 100) },
    preprocessing: [],
    model: {
      kind: "linear",
      link: "logistic",
      coef: ramp(FEATURES, (i) => (i % 3) - 1),
      intercept: Float64Array.of(0.25),
      classes: [0, 1],
    },
  };
}

/** Saves the synthetic probe to `path`. */
export async function saveSynthetic(path: string, state: FittedState = syntheticState()): Promise<void> {
  await saveProbe(path, parseProbeOptions({ model: "/nonexistent/tiny-model", layers: [0, 1] }), state);
}

/** Canonical JSON (sorted keys, undefined dropped): an independent copy of the manifest hashing rule. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/** A manifest as a forger sees it: arbitrary JSON, edited freely (the point is to break its types). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- forgeries write any value anywhere
export type ForgeableJson = Record<string, any>;

/**
 * Edits the manifest body and/or the tensors of a saved probe, then re-hashes both so the
 * checksums match. `mutate` may return a replacement manifest (e.g. `null`).
 */
export function forgeProbe(
  path: string,
  mutate: (manifest: ForgeableJson, tensors: Record<string, NamedTensor>) => unknown = () => undefined,
): void {
  const manifestPath = join(path, "probe.json");
  const { checksum: _old, ...body } = JSON.parse(readFileSync(manifestPath, "utf8")) as ForgeableJson;
  const tensors = decodeSafetensors(readFileSync(join(path, "probe.safetensors"))).tensors;
  const replaced = mutate(body, tensors);
  const bytes = encodeSafetensors(tensors, { format: "lmprobe-ts/probe" });
  writeFileSync(join(path, "probe.safetensors"), bytes);
  if (replaced !== undefined) {
    writeFileSync(manifestPath, JSON.stringify(replaced));
    return;
  }
  body.tensors = { ...body.tensors, sha256: sha256(bytes) };
  writeFileSync(manifestPath, JSON.stringify({ ...body, checksum: sha256(canonical(body)) }, null, 2));
}

/** A float64 tensor of `values`. */
export const f64Tensor = (values: number[]): NamedTensor => ({
  dtype: "F64",
  shape: [values.length],
  data: Float64Array.from(values),
});
