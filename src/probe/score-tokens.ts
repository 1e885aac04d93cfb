/**
 * `probe.scoreTokens`: the classifier's score of every token a prompt is pooled over, with the
 * token's character span in the prompt's text, so a UI can highlight what the probe fires on.
 *
 * The activations are those of every other method (token-level, through the activation cache);
 * the spans come from the worker's tokenizer (its offset mapping: fast tokenizers), converted from
 * Python's code-point indices to JavaScript's UTF-16 ones, so `text.slice(start, end)` is the span.
 */
import { isConversation, tokenRoles, type Prompt } from "../chat/chat-input.js";
import { scoreRows } from "../estimator/scoring.js";
import { ProtocolError } from "../errors.js";
import type { CallOptions } from "../types.js";
import type { ProbeCore } from "./core.js";

/** One token's score and where it lies in the text. */
export interface TokenScore {
  /** The token, decoded on its own (a piece of a multi-byte character decodes to "\uFFFD"). */
  token: string;
  /** `[start, end)` in `text`, in UTF-16 units (`text.slice(start, end)`); special tokens have start = end. */
  start: number;
  end: number;
  /**
   * Classification: the probability of the last class of `probe.classes` (binary: the positive class,
   * the column score-level pooling reduces); regression: the predicted value; classifiers without
   * probabilities: the predicted label.
   */
  score: number;
  /** Classification with probabilities: the whole row, in `classes` order. */
  proba?: number[];
}

/** What `scoreTokens` returns: the text the offsets index, and its scored tokens in order. */
export interface TokenScores {
  /** The prompt itself, or a conversation as the model's chat template renders it. */
  text: string;
  /** The tokens pooling reads: every token of a string; a conversation's tokens under the `tokens` option. */
  tokens: TokenScore[];
}

/** Maps code-point indices of `text` to UTF-16 indices (length: code points + 1). */
function utf16Index(text: string): number[] {
  const out: number[] = [0];
  let u = 0;
  for (const ch of text) {
    u += ch.length;
    out.push(u);
  }
  return out;
}

/** Scores every pooled token of one prompt (string or conversation). */
export async function scoreTokens(core: ProbeCore, input: Prompt, options: CallOptions = {}): Promise<TokenScores> {
  const state = core.fitted("scoreTokens");
  const list = core.prompts([input], "input");
  const acts = await core.session.extract(list, state.layers, "sequence", options);
  const seq = acts.sequences![0]!;
  const rows = seq.length / (state.layers.length * acts.hidden);
  const source = await core.session.chatSource(list, options);
  const roles = tokenRoles(core.options.tokens);
  const reply = await source.runtime.call(
    "tokenize",
    { model: source.modelPath, prompts: list, ...(roles && isConversation(list[0]!) ? { roles } : {}) },
    options.signal ? { signal: options.signal } : {},
  );
  const text = reply.texts[0]!;
  const tokens = reply.tokens[0]!;
  const offsets = reply.offsets[0]!;
  if (tokens.length !== rows) {
    throw new ProtocolError(`tokenize: the worker tokenized ${tokens.length} tokens where extraction had ${rows}`);
  }
  const scores = await scoreRows(state, seq, rows, core.opaqueScorer);
  const at = utf16Index(text);
  return {
    text,
    tokens: tokens.map((token, k) => {
      const proba = scores.proba?.[k];
      const score = proba ? proba[proba.length - 1]! : (scores.values?.[k] ?? scores.labels?.[k] ?? Number.NaN);
      const [a, b] = offsets[k]!;
      return { token, start: at[a!]!, end: at[b!]!, score, ...(proba ? { proba } : {}) };
    }),
  };
}
