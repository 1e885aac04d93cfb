/**
 * Model folders for the real-NDIF tests. NDIF deploys one model per repo id on its first job,
 * and the tests use local folders as repo ids (the server runs on this machine and reads the same
 * folder), so a fresh copy of a tiny model is a model NDIF has never deployed: its first job waits
 * for a deployment (seconds), the window the deadline, abort and kill tests act in.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A copy of `src` in a new folder: a repo id NDIF has not deployed yet. */
export function freshModel(src: string, tag: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `ndif-real-${tag}-`)), "model");
  cpSync(src, dir, { recursive: true });
  return dir;
}

/** The token of `oovModel` whose id is past the model's embedding table. */
export const OOV_TOKEN = "<|oov|>";

/**
 * A copy of `src` whose tokenizer knows one token more than the model has embeddings for. The
 * client tokenizes (the weightless stub never runs the model), so the id only fails on the server,
 * inside the embedding lookup of the real forward pass: a trace that raises on NDIF.
 */
export function oovModel(src: string): string {
  const dir = freshModel(src, "oov");
  const file = join(dir, "tokenizer.json");
  const tok = JSON.parse(readFileSync(file, "utf8")) as { added_tokens: Record<string, unknown>[] };
  const { vocab_size: vocab } = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { vocab_size: number };
  // the tokenizers library gives an added token the next free id: vocab_size, one past the table
  tok.added_tokens.push({
    id: vocab,
    content: OOV_TOKEN,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  writeFileSync(file, JSON.stringify(tok));
  return dir;
}
