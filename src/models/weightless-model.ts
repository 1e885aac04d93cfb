/**
 * Hub models for remote (NDIF) runs: the client builds a weightless (meta-device) model, so it
 * needs the config and the tokenizer only. Resolved from the local HF cache when the snapshot is
 * there (weights or not), else by downloading just those files at the resolved commit; never the
 * weights. Also the Hugging Face token lookup shared with local resolution.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { loadHub } from "../internal/lazy-hub.js";

/** Files a weightless model and its tokenizer are built from (whichever the repo has). */
export const STUB_FILES = [
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  "tokenizer.model",
  "chat_template.jinja",
] as const;

/**
 * The Hugging Face token for gated or private repos: `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`,
 * else the file `huggingface-cli login` writes (`$HF_TOKEN_PATH`, default `$HF_HOME/token`).
 * The worker inherits the environment, so Python's huggingface_hub sees the same token.
 */
export function hfToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  if (direct) return direct.trim();
  const file = env.HF_TOKEN_PATH ?? join(env.HF_HOME ?? join(homedir(), ".cache", "huggingface"), "token");
  try {
    return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** Credentials for @huggingface/hub calls (none without a token). */
export function hubAuth(token: string | undefined): { accessToken?: string } {
  return token ? { accessToken: token } : {};
}

/** Downloads the config and tokenizer files of `repo` at the commit `revision` resolves to. */
export async function downloadWeightless(
  repo: string,
  revision: string,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ path: string; sha: string }> {
  const token = hfToken(env);
  const auth = hubAuth(token);
  const { downloadFileToCacheDir, modelInfo } = await loadHub();
  const info = await modelInfo({ name: repo, revision, additionalFields: ["sha"], ...auth });
  const sha = String(info.sha);
  let config: string | undefined;
  for (const path of STUB_FILES) {
    try {
      const local = await downloadFileToCacheDir({ repo, path, revision: sha, cacheDir, ...auth });
      if (path === "config.json") config = local;
    } catch (err) {
      if (path === "config.json") throw err; // the others are optional: a repo has some of them
    }
  }
  return { path: dirname(config!), sha };
}
