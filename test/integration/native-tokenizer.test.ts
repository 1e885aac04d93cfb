/**
 * The native tokenizer (tokenizers.js on the exported tokenizer.json) gives the worker's token
 * ids: a 1,200-prompt corpus (Unicode, emoji, CJK, combining marks, whitespace runs, tabs,
 * newlines, long prompts) through transformers' AutoTokenizer in the shared venv, loaded and
 * called the way the worker's extraction does it, on the tiny test models' tokenizers and on
 * embedded:smollm2-135m's. Padded batches (side, pad = eos, mask) match too.
 */
import { execa } from "execa";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resolveModel } from "../../src/models/resolve-model.js";
import { NativeTokenizer } from "../../src/native/native-tokenizer.js";
import { loadNativeDeps, type TokenizersModule } from "../../src/native/optional-deps.js";
import { PythonRuntime } from "../../src/worker/python-runtime.js";
import { tokenizerCorpus } from "../helpers/tokenizer-corpus.js";

interface PythonIds {
  ids: number[][];
  paddingSide: "left" | "right";
  padTokenId: number;
  padded: Array<{ inputIds: number[][]; attentionMask: number[][] }>;
}

const corpus = tokenizerCorpus();
const dir = mkdtempSync(join(tmpdir(), "native-tokenizer-"));
const corpusPath = join(dir, "corpus.json");
let tokenizers: TokenizersModule;
let embeddedPath = "";

beforeAll(async () => {
  writeFileSync(corpusPath, JSON.stringify(corpus));
  tokenizers = (await loadNativeDeps()).tokenizers;
  const runtime = new PythonRuntime();
  try {
    embeddedPath = (await resolveModel("embedded:smollm2-135m", { runtime })).path;
  } finally {
    await runtime.close();
  }
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pythonIds(modelDir: string, name: string): Promise<PythonIds> {
  const out = join(dir, `${name}.json`);
  const script = join(import.meta.dirname, "..", "fixtures", "tokenize_corpus.py");
  await execa(inject("python"), [script, modelDir, corpusPath, out], { env: { HF_HUB_OFFLINE: "1" } });
  return JSON.parse(readFileSync(out, "utf8")) as PythonIds;
}

const firstMismatch = (a: number[][], b: number[][]) => a.findIndex((ids, i) => ids.join() !== b[i]?.join());

describe("native tokenizer parity with the worker's tokenizer", () => {
  it("the corpus is varied and large enough", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(corpus).size).toBeGreaterThan(1000);
    for (const re of [/\p{Extended_Pictographic}/u, /\p{Script=Han}/u, /\p{M}/u, /\t/, /\n/, /\r\n/, / {3}/, /\u200d/])
      expect(corpus.some((p) => re.test(p))).toBe(true);
    expect(Math.max(...corpus.map((p) => p.length))).toBeGreaterThan(2000);
  });

  const cases = () => [
    ...(["llama", "gpt2", "gpt_neox"] as const).map((m) => [m, inject("tinyModels")[m].path] as const),
    ["embedded:smollm2-135m", embeddedPath] as const,
  ];

  it.each([["llama"], ["gpt2"], ["gpt_neox"], ["embedded:smollm2-135m"]])(
    "%s: identical ids on every prompt, and identical padded batches",
    { timeout: 300_000 },
    async (name) => {
      const [, modelDir] = cases().find(([n]) => n === name)!;
      const py = await pythonIds(modelDir, name.replace(/\W/g, "_"));
      const json = JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8")) as object;
      const tok = new NativeTokenizer(
        tokenizers,
        json,
        { paddingSide: py.paddingSide, padTokenId: py.padTokenId, addSpecialTokens: true },
        null,
      );
      const ids = tok.encodeAll(corpus);
      const bad = firstMismatch(ids, py.ids);
      expect(bad === -1 ? "all equal" : { prompt: JSON.stringify(corpus[bad]), js: ids[bad], py: py.ids[bad] }).toBe(
        "all equal",
      );
      py.padded.forEach((batch, b) => {
        const padded = tok.pad(ids.slice(b * 8, b * 8 + 8));
        const rows = (a: BigInt64Array) =>
          Array.from({ length: padded.rows }, (_, r) =>
            Array.from(a.subarray(r * padded.width, (r + 1) * padded.width), Number),
          );
        expect(rows(padded.inputIds)).toEqual(batch.inputIds);
        expect(rows(padded.attentionMask)).toEqual(batch.attentionMask);
      });
    },
  );
});
