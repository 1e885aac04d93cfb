/**
 * What a probe shows of itself: its options, worker and fitted state (classes, layers, chosen
 * layers and importances, the decision threshold, the last call's profile), read-only but for
 * `threshold`. `Probe` extends it; the core stays private to this module and Probe's.
 */
import type { ProbeOptions, ResolvedProbeOptions } from "../config/probe-options.js";
import type { FittedState } from "../estimator/fitted-state.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { setThreshold } from "./calibrate.js";
import { ProbeCore } from "./core.js";
import type { CallProfile } from "./probe-types.js";

let coreOf: (view: ProbeView) => ProbeCore;

/** @internal The core of a probe (for Probe's own methods; not part of the package's API). */
export function probeCore(view: ProbeView): ProbeCore {
  return coreOf(view);
}

/** The state-reading half of {@link Probe}: options, worker and fitted state. */
export class ProbeView {
  readonly #core: ProbeCore;

  static {
    coreOf = (view) => view.#core;
  }

  /** @throws {InvalidOptionError} for unknown, mistyped or inconsistent options. */
  constructor(options: ProbeOptions) {
    this.#core = new ProbeCore(options);
  }

  /** The options with defaults applied. */
  get options(): Readonly<ResolvedProbeOptions> {
    return this.#core.options;
  }

  /** The worker this probe uses (its own, or the shared `runtime` option). */
  get runtime(): PythonRuntime {
    return this.#core.runtime;
  }

  /** Class labels, in the order of `predictProba`'s columns (empty for regression). Python: `classes_`. */
  get classes(): number[] {
    return [...this.#core.fitted("classes").model.classes];
  }

  /** Decoder blocks the fitted probe reads, ascending (fixed, chosen or best-swept layers). */
  get layers(): number[] {
    return [...this.#core.fitted("layers").layers];
  }

  /** The layers "auto"/"fast_auto" chose; undefined for other layer specs or before fit. Python: `selected_layers_`. */
  get selectedLayers(): number[] | undefined {
    const { layers } = this.#core.options;
    const state = this.#core.state;
    return state && (layers === "auto" || layers === "fast_auto") ? [...state.layers] : undefined;
  }

  /**
   * Layers "auto"/"fast_auto" chose from (or those of the last `computeLayerImportance`). Python: `candidate_layers_`.
   */
  get candidateLayers(): number[] | undefined {
    const c = this.#core.state?.candidateLayers;
    return c ? [...c] : undefined;
  }

  /** Importance of each candidate layer (Group Lasso norms, coefficient norms). Python: `layer_importances_`. */
  get layerImportances(): number[] | undefined {
    const v = this.#core.state?.layerImportances;
    return v ? [...v] : undefined;
  }

  /** The fitted scaler, preprocessing and model, in plain arrays. */
  get fittedState(): Readonly<FittedState> {
    return this.#core.fitted("fittedState");
  }

  /**
   * Binary probes: the decision threshold on P(classes[1]) that `predict` uses instead of the argmax
   * (`P >= threshold` → classes[1]); null when unset. Set by `calibrate` or by hand; saved with the
   * probe; null or undefined clears it; a new `fit` clears it.
   * @throws {InvalidOptionError} (set) for a value that is not a finite number.
   * @throws {NotSupportedError} (set) for multiclass, regression or probability-less probes.
   */
  get threshold(): number | null {
    return this.#core.state?.threshold ?? null;
  }

  set threshold(value: number | null | undefined) {
    setThreshold(this.#core, value);
  }

  /** True once `fit` has succeeded. */
  get isFitted(): boolean {
    return this.#core.state !== undefined;
  }

  /** Where the time of the last call went (fit, warmup, predictProba and the methods built on it). */
  get lastProfile(): CallProfile | undefined {
    return this.#core.lastProfile;
  }
}
