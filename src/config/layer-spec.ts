/**
 * The `layers` option: its accepted forms as a type and as a zod schema, shared by option parsing
 * and the CLI (which checks its flags before Python starts).
 */
import { z } from "zod";

const layerNames = ["middle", "last", "all", "auto", "fast_auto", "sweep"] as const;

/**
 * Which decoder blocks to probe: an index (negative counts from the end), several, a named set,
 * automatic selection ("auto": Group Lasso; "fast_auto": coefficient norms), or a sweep
 * ("sweep", "sweep:N" every N-th layer, "sweep:A-B" inclusive).
 */
export type LayerSpec =
  number | number[] | (typeof layerNames)[number] | `sweep:${number}` | `sweep:${number}-${number}`;

const int = z.number().int();

const SWEEP_STEP = /^sweep:(\d+)$/;
const SWEEP_RANGE = /^sweep:(\d+)-(\d+)$/;

const LAYERS_MESSAGE =
  'layers must be an index, a list, "middle", "last", "all", "auto", "fast_auto", "sweep", ' +
  '"sweep:N" (N ≥ 1) or "sweep:START-END" (START ≤ END)';
/** Schema of `layers`; its output type is {@link LayerSpec}. */
export const layerSpec = z
  .union([
    int,
    z.array(int).min(1, "layers needs at least one index"),
    z.enum(layerNames),
    z.string().refine((s) => {
      const step = SWEEP_STEP.exec(s);
      if (step) return Number(step[1]) >= 1;
      const range = SWEEP_RANGE.exec(s);
      return range !== null && Number(range[1]) <= Number(range[2]);
    }, LAYERS_MESSAGE),
    // The checks above admit exactly the LayerSpec forms: pipe() hands their type on.
  ])
  .pipe(z.custom<LayerSpec>());

/** True when `value` is a valid `layers` spec (the CLI checks its flags with it before Python starts). */
export function isLayerSpec(value: unknown): value is LayerSpec {
  return layerSpec.safeParse(value).success;
}
