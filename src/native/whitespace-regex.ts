/**
 * Hugging Face tokenizers (Rust) split with Rust's regex, whose `\s` is Unicode White_Space;
 * tokenizers.js compiles the same patterns as JavaScript RegExps, whose `\s` also matches U+FEFF
 * (the BOM / zero-width no-break space) and misses U+0085 (NEL). Text with either then splits
 * differently and gets other token ids (found by the parity corpus on SmolLM2's ByteLevel
 * pre-tokenizer). This rewrites `\s`/`\S` in the compiled patterns to Rust's class.
 */

/** Unicode White_Space, as Rust's regex `\s` (the body of a character class). */
const RUST_WHITESPACE = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/** A pattern's source with `\s` and `\S` replaced by Rust's White_Space class (other escapes untouched). */
export function rustWhitespaceSource(source: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      const next = source[i + 1] ?? "";
      i++;
      if (next === "s") out += inClass ? RUST_WHITESPACE : `[${RUST_WHITESPACE}]`;
      else if (next === "S" && !inClass) out += `[^${RUST_WHITESPACE}]`;
      else out += c + next; // \S inside a class stays (no such pattern in the tokenizers seen)
      continue;
    }
    if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
    out += c;
  }
  return out;
}

/**
 * Walks a tokenizers.js component tree (pre-tokenizer or normalizer, sequences included) and
 * recompiles every RegExp held as `pattern` with Rust's `\s`. Returns how many were rewritten.
 */
export function useRustWhitespace(component: unknown, seen = new Set<unknown>()): number {
  // tokenizers.js components are callable objects: typeof "function".
  const isObject = component !== null && (typeof component === "object" || typeof component === "function");
  if (!isObject || seen.has(component)) return 0;
  seen.add(component);
  let count = 0;
  const c = component as Record<string, unknown>;
  const pattern = c.pattern;
  // Not `instanceof`: a module loaded in another realm (a test runner's vm) has its own RegExp.
  if (Object.prototype.toString.call(pattern) === "[object RegExp]") {
    const re = pattern as RegExp;
    const source = rustWhitespaceSource(re.source);
    if (source !== re.source) {
      c.pattern = new RegExp(source, re.flags);
      count++;
    }
  }
  for (const key of ["tokenizers", "normalizers", "pretokenizers"]) {
    const list = c[key];
    if (Array.isArray(list)) for (const item of list) count += useRustWhitespace(item, seen);
  }
  return count;
}
