/**
 * Activations of prompts through the exported model, in the estimator's ActivationBlock form:
 * pooled rows (n, layers, hidden) or each prompt's real tokens (tokens, layers, hidden). Batches
 * are the worker's (`batchSize` prompts, sorted by token count with `groupByLength`, stable), so
 * a left-padded model sees the same padding as in the worker and gives the same numbers.
 */
import { AbortError } from "../errors.js";
import type { VectorPooling } from "../estimator/pooling.js";
import { poolSequence, type ActivationBlock } from "../estimator/sequence-pooling.js";
import type { NativeModel } from "./native-model.js";
import type { NativeTokenizer } from "./native-tokenizer.js";

/** How prompts are batched. */
export interface BatchPlan {
  batchSize: number;
  groupByLength: boolean;
  signal?: AbortSignal | undefined;
}

/** Prompt indices per forward pass (the worker's `batches`). */
export function planBatches(lengths: readonly number[], batchSize: number, groupByLength: boolean): number[][] {
  const order = lengths.map((_, i) => i);
  if (groupByLength) order.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const out: number[][] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.slice(s, s + batchSize));
  return out;
}

const throwIfAborted = (signal: AbortSignal | undefined) => {
  if (signal?.aborted) throw new AbortError({ cause: signal.reason });
};

/**
 * Runs every batch and keeps, per prompt, what `pooling` needs: the pooled vector of each layer,
 * or every real token ("sequence"). Returns the block and each prompt's token ids.
 */
export async function extractNative(
  tokenizer: NativeTokenizer,
  model: NativeModel,
  prompts: readonly string[],
  layers: readonly number[],
  pooling: VectorPooling | "sequence",
  plan: BatchPlan,
): Promise<{ block: ActivationBlock; ids: number[][] }> {
  throwIfAborted(plan.signal);
  const ids = tokenizer.encodeAll(prompts);
  const L = layers.length;
  const n = prompts.length;
  let hidden = 0;
  let data = new Float32Array(0);
  const sequences: Float32Array[] = new Array<Float32Array>(n);
  for (const idx of planBatches(
    ids.map((x) => x.length),
    plan.batchSize,
    plan.groupByLength,
  )) {
    throwIfAborted(plan.signal); // between forward passes: a running one is not interruptible
    const batch = tokenizer.pad(idx.map((i) => ids[i]!));
    const out = await model.run(batch, layers);
    hidden = out.hidden;
    if (pooling !== "sequence" && data.length === 0) data = new Float32Array(n * L * hidden);
    idx.forEach((promptIndex, r) => {
      const len = batch.lengths[r]!;
      const first = r * batch.width + (tokenizer.paddingSide === "left" ? batch.width - len : 0);
      const tokenRows = (li: number) => out.perLayer[li]!.subarray(first * hidden, (first + len) * hidden);
      if (pooling === "sequence") {
        const seq = new Float32Array(len * L * hidden);
        for (let li = 0; li < L; li++) {
          const rows = tokenRows(li);
          for (let t = 0; t < len; t++) seq.set(rows.subarray(t * hidden, (t + 1) * hidden), (t * L + li) * hidden);
        }
        sequences[promptIndex] = seq;
      } else {
        for (let li = 0; li < L; li++) {
          const pooled = poolSequence({ rows: len, dim: hidden, data: tokenRows(li) }, pooling);
          data.set(pooled, (promptIndex * L + li) * hidden);
        }
      }
    });
  }
  const block: ActivationBlock =
    pooling === "sequence" ? { data: new Float32Array(0), n, hidden, sequences } : { data, n, hidden };
  return { block, ids };
}
