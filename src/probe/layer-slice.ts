/**
 * One layer's rows out of a multi-layer extraction: sweeps extract every swept layer in one pass
 * and hand each layer's probe its own slice (rows are laid out layer after layer per prompt).
 */
import type { ActivationBlock } from "../estimator/sequence-pooling.js";
import { NotSupportedError } from "../errors.js";

/** One layer's slice of a multi-layer extraction. */
export function sliceLayer<A extends ActivationBlock>(acts: A, li: number, count: number): A {
  const h = acts.hidden;
  const take = (src: Float32Array) => {
    const rows = src.length / (count * h);
    const out = new Float32Array(rows * h);
    for (let r = 0; r < rows; r++) out.set(src.subarray((r * count + li) * h, (r * count + li + 1) * h), r * h);
    return out;
  };
  return { ...acts, data: take(acts.data), ...(acts.sequences ? { sequences: acts.sequences.map(take) } : {}) };
}

/** The sweep paths score built-in classifiers only: an opaque (custom) estimator is refused. */
export const noOpaque = (): never => {
  throw new NotSupportedError("sweep", "Layer sweeps need a built-in classifier: custom estimators are not swept.");
};
