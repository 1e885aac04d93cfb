/**
 * Chat conversations as prompts: their types, their validation (zod, before Python starts), the
 * `tokens` role mask, and their activation-cache key.
 *
 * Every prompt-taking method takes plain strings, conversations, or both mixed in one list: each
 * prompt is tokenized on its own terms (a string with the tokenizer's special tokens, as always; a
 * conversation rendered by the model's chat template, its ids equal to transformers'
 * `apply_chat_template(conv, tokenize=True)`), so mixing changes no prompt's tokens. The `tokens`
 * option applies to conversations only: a plain string has no roles and is always pooled whole.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { InvalidInputError } from "../errors.js";

/** One message of a chat conversation. */
export interface ChatMessage {
  /** "system", "user", "assistant", "tool"... whatever the model's template knows. */
  role: string;
  content: string;
}

/** A chat conversation: one prompt, rendered with the model's chat template. */
export type Conversation = ChatMessage[];

/** What the prompt-taking methods accept per prompt: a text, or a conversation. */
export type Prompt = string | Conversation;

/** Roles a `tokens` list may name (those of the common chat templates). */
export const KNOWN_ROLES = ["system", "developer", "user", "assistant", "tool", "function", "ipython"] as const;

/**
 * Python: none (lmprobe takes strings only). Which tokens of a conversation are pooled (training
 * pooling and score-level pooling alike): every token ("all", template scaffolding included), the
 * assistant messages' content, or the content of messages of the listed roles. A role's template
 * scaffolding (its header, end-of-turn marker) never counts as that role's tokens.
 */
export type TokensOption = "all" | "assistant" | string[];

/** Why a `tokens` value is invalid, or undefined when it is valid. */
function tokensProblem(value: unknown): string | undefined {
  const expected = `tokens must be "all", "assistant", or a list of roles (${KNOWN_ROLES.join(", ")})`;
  if (value === "all" || value === "assistant") return undefined;
  if (!Array.isArray(value)) return `${expected}; got ${JSON.stringify(value)}`;
  if (value.length === 0) return 'tokens must name at least one role (or be "all" or "assistant")';
  const bad = value.find((r) => !(KNOWN_ROLES as readonly unknown[]).includes(r));
  if (bad !== undefined)
    return `tokens lists an unknown role ${JSON.stringify(bad)}: each must be one of ${KNOWN_ROLES.join(", ")}`;
  if (new Set(value).size !== value.length) return "tokens must not list a role twice";
  return undefined;
}

/** zod schema of the `tokens` option (one message per mistake, naming the option). */
export const tokensSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const message = tokensProblem(value);
    if (message) ctx.addIssue({ code: "custom", message });
  })
  .pipe(z.custom<TokensOption>());

/** The roles whose content is pooled, or null for every token. */
export function tokenRoles(tokens: TokensOption): string[] | null {
  if (tokens === "all") return null;
  if (tokens === "assistant") return ["assistant"];
  return [...tokens].sort();
}

const messageSchema = z.strictObject({
  role: z.string().min(1, "role must be a non-empty string"),
  content: z.string(),
});
const conversationSchema = z.array(messageSchema).min(1, "a conversation needs at least one message");

/** True for a conversation (as opposed to a string prompt). */
export function isConversation(prompt: Prompt): prompt is Conversation {
  return Array.isArray(prompt);
}

/**
 * Checks one conversation (`argument[index]`): non-empty, every message `{ role, content }` strings,
 * and, under a role mask, at least one message of a chosen role with content.
 */
export function checkConversation(
  value: unknown[],
  argument: string,
  index: number,
  roles: string[] | null,
): Conversation {
  const parsed = conversationSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `[${issue.path.join("][")}]` : "";
    throw new InvalidInputError(
      argument,
      `${argument}[${index}]${where}: ${issue.message} (a conversation is an array of { role: string, ` +
        "content: string } messages).",
      { index },
    );
  }
  const conv = parsed.data;
  if (roles && !conv.some((m) => roles.includes(m.role) && m.content !== "")) {
    throw new InvalidInputError(
      argument,
      `${argument}[${index}] has no message of role ${roles.join(" or ")} with content, so the tokens option ` +
        `(${roles.join(", ")}) selects none of its tokens: add such a message, or set tokens: "all".`,
      { index },
    );
  }
  return conv.map((m) => ({ role: m.role, content: m.content }));
}

/**
 * The cache key of a prompt. A string keeps its text hash (entries cached before chat input existed
 * stay valid). A conversation hashes the chat template, the messages and the role mask: another
 * template, message or mask is another entry.
 */
export function promptKey(prompt: Prompt, templateHash: string | undefined, roles: string[] | null): string {
  const hash = createHash("sha256");
  if (!isConversation(prompt)) return hash.update(prompt, "utf8").digest("hex");
  const messages = prompt.map((m) => [m.role, m.content]);
  return hash.update(JSON.stringify(["chat/v1", templateHash ?? null, roles, messages]), "utf8").digest("hex");
}

/** A stable text for a prompt (evaluation-set hashes, logs): the string, or the conversation as JSON. */
export function promptId(prompt: Prompt): string {
  return isConversation(prompt) ? JSON.stringify(prompt.map((m) => [m.role, m.content])) : prompt;
}

/** A prompt's length in characters (orders prompts by size before batching). */
export function promptLength(prompt: Prompt): number {
  return isConversation(prompt) ? prompt.reduce((s, m) => s + m.content.length + m.role.length, 0) : prompt.length;
}
