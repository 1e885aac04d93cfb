/**
 * Tokenization as the worker's extraction does it (python_worker/lmprobe_worker/extraction):
 * `tokenizer.json`'s own post-processor adds the special tokens (BOS where the model's tokenizer
 * adds one), no truncation, pad = eos when the tokenizer has no pad token, the tokenizer's own
 * padding side. Prompt checks match the worker's too: an empty prompt, or one longer than the
 * model's positions, is refused with its index before any forward pass.
 */
import { readFile } from "node:fs/promises";
import { InvalidInputError, ProbeFileError } from "../errors.js";
import type { NativeManifest } from "./manifest.js";
import type { HfTokenizer, TokenizersModule } from "./optional-deps.js";
import { useRustWhitespace } from "./whitespace-regex.js";

/** One padded batch: int64 inputs `[rows, width]` and each row's real token count. */
export interface PaddedBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  rows: number;
  width: number;
  lengths: number[];
}

/** The manifest's tokenizer settings the runtime applies. */
export type TokenizerSettings = Pick<NativeManifest["tokenizer"], "paddingSide" | "padTokenId" | "addSpecialTokens">;

/** The exported tokenizer with the worker's rules. */
export class NativeTokenizer {
  readonly #tokenizer: HfTokenizer;
  readonly #settings: TokenizerSettings;
  readonly #maxPositions: number | null;

  /** `settings` and `maxPositions` are the manifest's `tokenizer` and `model.maxPositions`. */
  constructor(mod: TokenizersModule, tokenizerJson: object, settings: TokenizerSettings, maxPositions: number | null) {
    // The config argument carries tokenizer_config.json's extras; the export keeps everything that
    // changes ids inside tokenizer.json (checked at export against the worker's tokenizer).
    const tokenizer = new mod.Tokenizer(tokenizerJson, {});
    useRustWhitespace(tokenizer.pre_tokenizer);
    useRustWhitespace(tokenizer.normalizer);
    this.#tokenizer = tokenizer;
    this.#settings = settings;
    this.#maxPositions = maxPositions;
  }

  /** Reads `tokenizer.json` (already hash-checked) and builds the tokenizer. */
  static async fromFile(
    mod: TokenizersModule,
    path: string,
    settings: TokenizerSettings,
    maxPositions: number | null,
  ): Promise<NativeTokenizer> {
    let json: object;
    try {
      json = JSON.parse(await readFile(path, "utf8")) as object;
    } catch (err) {
      throw new ProbeFileError(path, `Cannot load the tokenizer ${path}: it is not valid JSON (${String(err)}).`);
    }
    return new NativeTokenizer(mod, json, settings, maxPositions);
  }

  /** Where pads go in a batch. */
  get paddingSide(): "left" | "right" {
    return this.#settings.paddingSide;
  }

  /** Token ids of one prompt, special tokens added (no check). */
  ids(prompt: string): number[] {
    return this.#tokenizer.encode(prompt, { add_special_tokens: this.#settings.addSpecialTokens }).ids;
  }

  /**
   * Token ids of every prompt, checked like the worker checks them.
   * @throws {InvalidInputError} (`argument` "prompts", `index` the prompt) for a prompt with no token
   * or more tokens than the model takes.
   */
  encodeAll(prompts: readonly string[]): number[][] {
    return prompts.map((prompt, i) => {
      const ids = this.ids(prompt);
      if (ids.length === 0)
        throw new InvalidInputError("prompts", `prompts[${i}] has no tokens: prompts must be non-empty.`, {
          index: i,
        });
      const limit = this.#maxPositions;
      if (limit !== null && ids.length > limit)
        throw new InvalidInputError(
          "prompts",
          `prompts[${i}] has ${ids.length} tokens; the exported model takes at most ${limit} ` +
            "(shorten or split the prompt).",
          { index: i },
        );
      return ids;
    });
  }

  /** Pads token id lists into one batch on the tokenizer's side with its pad id. */
  pad(batch: readonly number[][]): PaddedBatch {
    const rows = batch.length;
    const width = Math.max(...batch.map((ids) => ids.length));
    const inputIds = new BigInt64Array(rows * width).fill(BigInt(this.#settings.padTokenId));
    const attentionMask = new BigInt64Array(rows * width);
    batch.forEach((ids, r) => {
      const start = r * width + (this.paddingSide === "left" ? width - ids.length : 0);
      for (let t = 0; t < ids.length; t++) {
        inputIds[start + t] = BigInt(ids[t]!);
        attentionMask[start + t] = 1n;
      }
    });
    return { inputIds, attentionMask, rows, width, lengths: batch.map((ids) => ids.length) };
  }
}
