/** Reading what the SDK needs from a model's config.json: the number of decoder blocks. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelNotFoundError } from "../errors.js";
import { errorCode, errorMessage, isRecord, parseJsonObject } from "../internal/unknown-values.js";

const LAYER_KEYS = ["num_hidden_layers", "n_layer", "num_layers", "n_layers"] as const;

/** Number of decoder blocks declared by a config (top level or a multimodal `text_config`). */
export function layerCount(config: Record<string, unknown>): number | undefined {
  for (const scope of [config, config.text_config]) {
    if (!isRecord(scope)) continue;
    for (const key of LAYER_KEYS) {
      const v = scope[key];
      if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
    }
  }
  return undefined;
}

/** Reads `<dir>/config.json`, failing with ModelNotFoundError when it is missing or unreadable. */
export async function readModelConfig(
  model: string,
  dir: string,
): Promise<{ config: Record<string, unknown>; numLayers: number }> {
  let config: Record<string, unknown>;
  try {
    config = parseJsonObject(await readFile(join(dir, "config.json"), "utf8"));
  } catch (err) {
    const missing = errorCode(err) === "ENOENT";
    throw new ModelNotFoundError(
      model,
      missing
        ? `Model ${model}: ${dir} has no config.json. ` +
            'Pass a folder saved with save_pretrained(), a hub id, or "embedded:smollm2-135m".'
        : `Model ${model}: cannot read ${join(dir, "config.json")}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const numLayers = layerCount(config);
  if (numLayers === undefined) {
    throw new ModelNotFoundError(
      model,
      `Model ${model}: config.json declares no layer count (${LAYER_KEYS.join(", ")}).`,
    );
  }
  return { config, numLayers };
}
