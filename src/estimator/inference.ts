/**
 * From prompts to predictions under each inference pooling: pooled activations scored once per
 * prompt ("activation" stage), per-token scores reduced over each prompt's real tokens ("score"
 * stage, e.g. the max over tokens), or every token's prediction ("all").
 */
import { isVectorPooling, type InferenceStage, type Reduction, type VectorPooling } from "./pooling.js";
import { poolSequence, type ActivationBlock } from "./sequence-pooling.js";
import type { FittedState } from "./fitted-state.js";
import { argmax, scoreRows, type OpaqueScorer, type RowScores } from "./scoring.js";
import { isStreamReduction, parseStreamReduction, reduceStream, type StreamReduction } from "./stream-reductions.js";

/** Extracts activations of the state's layers, pooled one way or kept per token. */
export type Extractor = (pooling: VectorPooling | "sequence") => Promise<ActivationBlock>;

/** Predictions per prompt, or per token of each prompt ("all"). */
export interface Predictions {
  perPrompt?: RowScores;
  /** "all": one RowScores per prompt, rows = its real tokens. */
  perToken?: RowScores[];
}

/** Runs the inference pooling for a batch of prompts. */
export async function predictPrompts(
  state: FittedState,
  stage: InferenceStage,
  extract: Extractor,
  opaque: OpaqueScorer,
): Promise<Predictions> {
  if (stage.stage === "activation" && isVectorPooling(stage.reduction)) {
    const acts = await extract(stage.reduction);
    return { perPrompt: await scoreRows(state, acts.data, acts.n, opaque) };
  }
  const acts = await extract("sequence");
  const L = state.layers.length;
  const width = L * acts.hidden;
  const sequences = acts.sequences!;
  if (stage.stage === "activation") {
    const x = new Float32Array(acts.n * width);
    sequences.forEach((seq, i) => {
      const rows = seq.length / width;
      for (let li = 0; li < L; li++) {
        const layerSeq = new Float32Array(rows * acts.hidden);
        for (let r = 0; r < rows; r++)
          layerSeq.set(seq.subarray(r * width + li * acts.hidden, r * width + (li + 1) * acts.hidden), r * acts.hidden);
        x.set(poolSequence({ rows, dim: acts.hidden, data: layerSeq }, stage.reduction), i * width + li * acts.hidden);
      }
    });
    return { perPrompt: await scoreRows(state, x, acts.n, opaque) };
  }
  // Score stage and "all": every real token is scored in one pass, then split per prompt.
  const all = new Float32Array(sequences.reduce((s, q) => s + q.length, 0));
  let offset = 0;
  for (const seq of sequences) {
    all.set(seq, offset);
    offset += seq.length;
  }
  const scores = await scoreRows(state, all, all.length / width, opaque);
  const perToken: RowScores[] = [];
  let row = 0;
  for (const seq of sequences) {
    const rows = seq.length / width;
    perToken.push(sliceScores(scores, row, row + rows));
    row += rows;
  }
  if (stage.stage === "all") return { perToken };
  return { perPrompt: reduceScores(perToken, stage.reduction, state.model.classes) };
}

function sliceScores(s: RowScores, start: number, end: number): RowScores {
  return {
    ...(s.proba ? { proba: s.proba.slice(start, end) } : {}),
    ...(s.labels ? { labels: s.labels.slice(start, end) } : {}),
    ...(s.values ? { values: s.values.slice(start, end) } : {}),
  };
}

function reduceColumn(values: number[], reduction: Reduction | StreamReduction): number {
  if (isStreamReduction(reduction)) return reduceStream(values, parseStreamReduction(reduction));
  switch (reduction) {
    case "max":
      return Math.max(...values);
    case "min":
      return Math.min(...values);
    case "mean":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "first_token":
      return values[0]!;
    default:
      return values[values.length - 1]!;
  }
}

/**
 * lmprobe's score pooling: each probability column is reduced on its own over the real tokens
 * (so max-pooled rows need not sum to 1), the label is the argmax of the reduced row; models
 * without probabilities take the majority label (ties: the smallest), regression reduces values.
 */
function reduceScores(perToken: RowScores[], reduction: Reduction | StreamReduction, classes: number[]): RowScores {
  if (perToken[0]?.values) return { values: perToken.map((t) => reduceColumn(t.values!, reduction)) };
  if (perToken[0]?.proba) {
    const proba = perToken.map((t) =>
      t.proba![0]!.map((_, c) =>
        reduceColumn(
          t.proba!.map((r) => r[c]!),
          reduction,
        ),
      ),
    );
    return { proba, labels: proba.map((p) => classes[argmax(p)]!) };
  }
  const labels = perToken.map((t) => {
    const counts = new Map<number, number>();
    for (const l of t.labels!) counts.set(l, (counts.get(l) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
  });
  return { labels };
}
