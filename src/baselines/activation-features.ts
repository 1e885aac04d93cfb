/**
 * Pooled activations for the activation baselines, through a Probe's own extraction session
 * (model resolution, layer plan, activation cache, worker): no extraction logic of its own.
 */
import type { ProbeOptions } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";
import { ProbeCore } from "../probe/core.js";
import type { CallOptions } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import type { ResolvedBaselineOptions } from "./baseline-options.js";

/** Pooled rows (n, layers × hidden), layers ascending. */
export interface PooledRows {
  data: Float32Array;
  n: number;
  width: number;
}

const EXTRACTION_KEYS = [
  "model",
  "revision",
  "device",
  "backend",
  "remote",
  "maxRetries",
  "batchSize",
  "dtype",
  "groupByLength",
  "cacheDir",
  "cacheDtype",
] as const;

/** The extraction session of one activation baseline. */
export class ActivationFeatures {
  readonly #core: ProbeCore;
  readonly #pooling: ResolvedBaselineOptions["pooling"];
  #layers: Promise<number[]> | undefined;

  /** @throws {InvalidOptionError} for a missing model or bad extraction options. */
  constructor(o: ResolvedBaselineOptions, runtime: PythonRuntime) {
    if (o.model === undefined)
      throw new InvalidOptionError("model", `The "${o.method}" baseline reads activations: set the model option.`);
    this.#pooling = o.pooling;
    const probe: Record<string, unknown> = {
      runtime,
      // lmprobe's ActivationBaseline: layer 0 for "layer_0", batches of 8 by default.
      layers: o.method === "layer_0" ? 0 : o.layers,
      pooling: o.pooling,
      batchSize: 8,
    };
    for (const key of EXTRACTION_KEYS) if (o[key] !== undefined) probe[key] = o[key];
    this.#core = new ProbeCore(probe as ProbeOptions); // validated by the Probe schema (InvalidOptionError)
  }

  /** The layers read, resolved against the model's depth (once). */
  layers(call: CallOptions): Promise<number[]> {
    this.#layers ??= this.#core.session.plan(call).then((plan) => {
      if (plan.mode !== "fixed")
        throw new InvalidOptionError("layers", "Activation baselines take fixed layers (no auto/sweep specs).");
      return plan.layers;
    });
    return this.#layers;
  }

  /** Pooled activations of `prompts`, read through the cache. */
  async rows(prompts: string[], call: CallOptions): Promise<PooledRows> {
    const layers = await this.layers(call);
    const acts = await this.#core.session.extract(prompts, layers, this.#pooling, call);
    return { data: acts.data, n: acts.n, width: layers.length * acts.hidden };
  }

  /** Closes the cache handle (the runtime belongs to the baseline). */
  close(): void {
    this.#core.session.close();
  }
}
