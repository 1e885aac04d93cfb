/** The `tokenize` RPC: the tokens a prompt is pooled over, with their text and character offsets. */
import type { WirePrompt } from "./extract.js";

/** The `tokenize` request body. */
export interface TokenizeRequest {
  /** A local model folder (its tokenizer is used; the weights are not loaded for this). */
  model: string;
  prompts: WirePrompt[];
  /** As the `extract` request's: keep only these roles' message-content tokens of conversations. */
  roles?: string[];
}

/** The `tokenize` reply body: per prompt, its text and its kept tokens (row k = row k of a pooling "none" extract). */
export interface TokenizeReply {
  /** Each prompt's text: the string itself, or the conversation rendered by the chat template. */
  texts: string[];
  /** Each kept token, decoded on its own (a piece of a multi-byte character decodes to U+FFFD). */
  tokens: string[][];
  /** `[start, end)` of each kept token in its text, in Unicode code points (Python string indices). */
  offsets: number[][][];
  /** The kept tokens' ids (without a role mask: every id, as `apply_chat_template(tokenize=True)` gives them). */
  ids: number[][];
}
