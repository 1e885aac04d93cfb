/** Where a probe's activations are assembled while they arrive (activation-source.ts). */
import type { CachedValues } from "../cache/activation-cache.js";

/**
 * The (n, layers, hidden) result, filled in place while vectors arrive (from the cache or the worker),
 * so that no second copy of all activations is ever held: Node's memory stays near one copy.
 */
export class ActivationOutput {
  data: Float32Array | undefined;
  /** Sequence mode: per prompt hash, one (rows × hidden) array per layer. */
  readonly sequences = new Map<string, Float32Array[]>();
  hidden = 0;
  /** found[layerIndex]: prompt hashes already placed for that layer. */
  readonly found: Array<Set<string>>;
  constructor(
    private readonly rowsOf: Map<string, number[]>,
    private readonly n: number,
    private readonly layerCount: number,
    private readonly keep: boolean,
  ) {
    this.found = Array.from({ length: layerCount }, () => new Set<string>());
  }
  /** Places one prompt's pooled vector of layer index `li` in every row that asked for the prompt. */
  place(hash: string, li: number, vec: Float32Array): void {
    this.hidden = vec.length;
    if (!this.keep) {
      this.found[li]!.add(hash);
      return;
    }
    if (!this.data) {
      this.hidden = vec.length;
      this.data = new Float32Array(this.n * this.layerCount * this.hidden);
    }
    for (const row of this.rowsOf.get(hash)!) this.data.set(vec, (row * this.layerCount + li) * this.hidden);
    this.found[li]!.add(hash);
  }
  /** Keeps one prompt's per-token (rows × hidden) activations of layer index `li`. */
  placeSequence(hash: string, li: number, seq: CachedValues): void {
    this.hidden = seq.dim;
    this.found[li]!.add(hash);
    if (!this.keep) return;
    const perLayer = this.sequences.get(hash) ?? new Array<Float32Array>(this.layerCount);
    perLayer[li] = seq.data;
    this.sequences.set(hash, perLayer);
  }
  /** Sequence mode: each prompt's (rows, layers, hidden) array, in prompt order. */
  assembleSequences(hashes: string[]): Float32Array[] {
    return hashes.map((h) => {
      const perLayer = this.sequences.get(h)!;
      const rows = perLayer[0]!.length / this.hidden;
      const out = new Float32Array(rows * this.layerCount * this.hidden);
      for (let r = 0; r < rows; r++) {
        perLayer.forEach((seq, li) =>
          out.set(seq.subarray(r * this.hidden, (r + 1) * this.hidden), (r * this.layerCount + li) * this.hidden),
        );
      }
      return out;
    });
  }
}
