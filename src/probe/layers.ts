/** Resolving a layer spec against a model's block count, with lmprobe's meaning of each name. */
import type { LayerSpec } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";

/**
 * Decoder blocks to read, ascending and without duplicates (features are concatenated in
 * ascending layer order, as lmprobe does whatever order the user gave).
 */
export function resolveLayers(spec: LayerSpec, numLayers: number, model: string): number[] {
  let indices: number[];
  if (spec === "middle") {
    const third = Math.floor(numLayers / 3);
    indices = range(third, numLayers - third);
  } else if (spec === "last") {
    indices = [numLayers - 1];
  } else if (spec === "all") {
    indices = range(0, numLayers);
  } else {
    const list = typeof spec === "number" ? [spec] : spec;
    indices = list.map((i) => {
      const idx = i < 0 ? i + numLayers : i;
      if (idx < 0 || idx >= numLayers) {
        throw new InvalidOptionError(
          "layers",
          `Invalid Probe options: layer ${i} is out of range for ${model}, which has ${numLayers} layers (use ${-numLayers}..${numLayers - 1}).`,
        );
      }
      return idx;
    });
  }
  return [...new Set(indices)].sort((a, b) => a - b);
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, k) => start + k);
}
