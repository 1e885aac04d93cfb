/** Resolving a layer spec against a model's block count, with lmprobe's meaning of each name. */
import type { LayerSpec } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";

/** What a layer spec asks for once the model's depth is known. */
export type LayerPlan =
  | { mode: "fixed"; layers: number[] }
  | { mode: "auto" | "fast_auto"; candidates: number[] }
  | { mode: "sweep"; layers: number[] };

/**
 * Decoder blocks to read, ascending and without duplicates (features are concatenated in
 * ascending layer order, like lmprobe, whatever order the user gave).
 */
export function resolveLayers(spec: LayerSpec, numLayers: number, model: string): number[] {
  const plan = planLayers(spec, numLayers, model);
  return "candidates" in plan ? plan.candidates : plan.layers;
}

/** Resolves any layer spec, including "auto"/"fast_auto" candidates and sweeps. */
export function planLayers(spec: LayerSpec, numLayers: number, model: string, autoCandidates?: number[]): LayerPlan {
  if (spec === "auto" || spec === "fast_auto") {
    const candidates = resolveAutoCandidates(autoCandidates, numLayers, model);
    if (spec === "auto" && candidates.length < 2) {
      throw new InvalidOptionError(
        "autoCandidates",
        'Invalid Probe options: layers "auto" needs at least two distinct candidate layers; ' +
          `autoCandidates resolve to [${candidates}] on ${model}.`,
      );
    }
    return { mode: spec, candidates };
  }
  if (spec === "sweep") return { mode: "sweep", layers: range(0, numLayers) };
  if (typeof spec === "string" && spec.startsWith("sweep:")) {
    const [a = 1, b] = spec.slice(6).split("-").map(Number);
    // "sweep:N" takes every N-th layer; "sweep:A-B" the valid layers of A..B inclusive.
    const layers =
      b === undefined ? range(0, numLayers).filter((i) => i % a === 0) : range(a, b + 1).filter((i) => i < numLayers);
    if (layers.length === 0)
      throw new InvalidOptionError(
        "layers",
        `Invalid Probe options: "${spec}" selects no layer of ${model}, which has ${numLayers} layers.`,
      );
    return { mode: "sweep", layers };
  }
  return { mode: "fixed", layers: fixedLayers(spec, numLayers, model) };
}

/** Fixed layers: an index, a list, or "middle" / "last" / "all" (other names are resolved before). */
function fixedLayers(spec: LayerSpec, numLayers: number, model: string): number[] {
  let indices: number[];
  if (spec === "middle") {
    const third = Math.floor(numLayers / 3);
    indices = range(third, numLayers - third);
  } else if (spec === "last") {
    indices = [numLayers - 1];
  } else if (spec === "all") {
    indices = range(0, numLayers);
  } else if (typeof spec === "number" || Array.isArray(spec)) {
    indices = (typeof spec === "number" ? [spec] : spec).map((i) => checkedIndex(i, numLayers, model, "layers"));
  } else {
    throw new InvalidOptionError("layers", `Invalid Probe options: unknown layer spec "${spec}".`);
  }
  return [...new Set(indices)].sort((a, b) => a - b);
}

/**
 * lmprobe's auto candidates: fractions of depth mapped to `floor(f × (N − 1))`, or indices.
 * JavaScript has no float/int distinction, so a list is fractional when every value lies in
 * [0, 1] and at least one is not an integer ([0.0, 1.0] in Python is [0, 1] here: indices).
 */
export function resolveAutoCandidates(candidates: number[] | undefined, numLayers: number, model: string): number[] {
  const list = candidates ?? [0.25, 0.5, 0.75];
  const fractional = list.every((c) => c >= 0 && c <= 1) && list.some((c) => !Number.isInteger(c));
  const resolved = fractional
    ? list.map((f) => Math.max(0, Math.min(Math.floor(f * (numLayers - 1)), numLayers - 1)))
    : list.map((c) => {
        if (!Number.isInteger(c))
          throw new InvalidOptionError(
            "autoCandidates",
            `Invalid Probe options: autoCandidates mixes fractions and indices (${c}); ` +
              "use all fractions in [0, 1] or all integers.",
          );
        return checkedIndex(c, numLayers, model, "autoCandidates");
      });
  return [...new Set(resolved)].sort((a, b) => a - b);
}

function checkedIndex(i: number, numLayers: number, model: string, option: string): number {
  const idx = i < 0 ? i + numLayers : i;
  if (idx < 0 || idx >= numLayers) {
    throw new InvalidOptionError(
      option,
      `Invalid Probe options: layer ${i} is out of range for ${model}, which has ${numLayers} layers ` +
        `(use ${-numLayers}..${numLayers - 1}).`,
    );
  }
  return idx;
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, k) => start + k);
}
