/**
 * The chat template of a model folder, read the way transformers finds it (`chat_template.jinja`,
 * `chat_template.json`, or `tokenizer_config.json`'s `chat_template`), hashed for the cache key of
 * conversations. Read in TypeScript so that a conversation on a model without a template fails
 * before Python starts, and so that fully cached conversations need no worker.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UnsupportedModelError } from "../errors.js";

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function jsonField(path: string): unknown {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    return (JSON.parse(text) as Record<string, unknown>).chat_template;
  } catch {
    return undefined;
  }
}

/** The hash of the folder's chat template, or undefined when it has none. */
export function chatTemplateHash(modelPath: string): string | undefined {
  const template =
    readText(join(modelPath, "chat_template.jinja")) ??
    jsonField(join(modelPath, "chat_template.json")) ??
    jsonField(join(modelPath, "tokenizer_config.json"));
  if (template === undefined || template === null || template === "") return undefined;
  return createHash("sha256").update(JSON.stringify(template)).digest("hex");
}

/** The template hash, or UnsupportedModelError naming the fix when the model has no chat template. */
export function requireChatTemplate(modelPath: string, modelName: string): string {
  const hash = chatTemplateHash(modelPath);
  if (hash !== undefined) return hash;
  throw new UnsupportedModelError(
    modelName,
    `Chat conversations need the model's chat template, and ${modelName} has none ` +
      `(no chat_template.jinja, chat_template.json or tokenizer_config.json chat_template in ${modelPath}). ` +
      "Use a chat/instruct model (e.g. embedded:smollm2-135m), or render the conversation yourself and pass it " +
      "as a plain string prompt.",
  );
}
