/**
 * A varied, deterministic prompt corpus for tokenizer parity: plain sentences, accents (NFC and
 * NFD), combining marks, emoji (skin tones, ZWJ families, flags, keycaps), CJK, Hangul, Arabic,
 * Hebrew, Devanagari, Thai, zero-width and non-breaking spaces, whitespace runs, tabs, newlines,
 * CRLF, digits, code, special-token look-alikes and long prompts. Seeded, so every run and
 * every tokenizer sees the same prompts.
 */
import { mulberry32 } from "../../src/internal/mulberry32.js";

const WORDS = ["the", "cat", "sat", "on", "a", "mat", "true", "false", "dog", "statement", "Paris", "is", "not"];
const PIECES: Record<string, string[]> = {
  accents: ["café", "naïve", "résumé", "Ångström", "façade", "über", "señor", "Øresund", "Zürich", "crème brûlée"],
  combining: ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "Z\u0351\u0325\u034d", "i\u0307\u0301", "\u0301alone"],
  emoji: ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "🤖", "🧪", "👩🏿‍🔬", "🫠"],
  cjk: ["中文字符", "日本語のテキスト", "ひらがな", "カタカナ", "漢字と仮名", "한국어 문장", "繁體中文", "𠀀𠀁"],
  scripts: ["مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Привет, мир", "Γειά σου", "ǅemal"],
  spaces: [
    "  ",
    "   ",
    "\t",
    "\t\t",
    "\n",
    "\n\n",
    "\r\n",
    " \n ",
    "\u00a0",
    "\u200b",
    "\u2003",
    "\u3000",
    "\ufeff",
    "\u0085",
    "\u2028",
    "\u000b",
    "\u000c",
  ],
  symbols: ["3 + 4 = 7", "100%", "$1,000.50", "x² ≤ y³", "∑∫√∞", "→ ← ↔", "©®™", "«quoted»", "“smart”", "…", "—"],
  code: ["def f(x):\n    return x", "if (a && b) { c(); }", '<div class="x">', "SELECT * FROM t;", "a_b-c.d/e"],
  special: ["<|bos|>", "<|eos|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<pad>"],
};
const KINDS = Object.keys(PIECES);

/**
 * `count` prompts (default 1,200): every piece alone and in NFD form, then random mixes of words
 * and pieces of 1 to 40 parts, and every 50th prompt a long one (2,000 to 6,000 characters).
 */
export function tokenizerCorpus(count = 1200, seed = 14): string[] {
  const next = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const out: string[] = [];
  for (const list of Object.values(PIECES))
    for (const p of list) {
      out.push(p, `${p} ${pick(WORDS)}`);
      if (p.normalize("NFD") !== p) out.push(p.normalize("NFD"));
    }
  while (out.length < count) {
    const long = out.length % 50 === 0;
    const parts: string[] = [];
    const target = long ? 2000 + Math.floor(next() * 4000) : 0;
    const n = 1 + Math.floor(next() * 40);
    while (long ? parts.join("").length < target : parts.length < n) {
      const r = next();
      if (r < 0.45) parts.push(pick(WORDS));
      else parts.push(pick(PIECES[pick(KINDS)]!));
      parts.push(next() < 0.8 ? " " : pick(PIECES.spaces!));
    }
    let prompt = parts.join("");
    if (next() < 0.3) prompt = prompt.trim();
    if (next() < 0.1) prompt = prompt.toUpperCase();
    if (prompt !== "") out.push(prompt);
  }
  return out;
}
