/** Rust's `\s` in tokenizers.js patterns (whitespace-regex.ts): U+FEFF is not whitespace, U+0085 is. No Python. */
import { describe, expect, it } from "vitest";
import { rustWhitespaceSource, useRustWhitespace } from "../../src/native/whitespace-regex.js";

const GPT2 = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

describe("rustWhitespaceSource", () => {
  it("splits around U+FEFF and U+0085 the way Rust's regex does (JavaScript's \\s differs)", () => {
    const rust = new RegExp(rustWhitespaceSource(GPT2.source), GPT2.flags);
    expect("\n\n \ufeff x".match(GPT2)).toEqual(["\n\n \ufeff", " x"]); // JS: FEFF counts as a space
    expect("\n\n \ufeff x".match(rust)).toEqual(["\n\n", " \ufeff", " x"]);
    expect(" \xa0\x85statement".match(rust)).toEqual([" \xa0", "\x85", "statement"]);
  });

  it("leaves escaped backslashes and other escapes alone", () => {
    expect(rustWhitespaceSource("\\\\s\\d\\p{L}")).toBe("\\\\s\\d\\p{L}");
  });

  it("rewrites the patterns of nested, callable components once", () => {
    const inner = Object.assign(() => 0, { pattern: /\s+/gu });
    const seq = { tokenizers: [inner, { pattern: /\d/gu }] };
    expect(useRustWhitespace(seq)).toBe(1);
    expect(inner.pattern.test("\ufeff")).toBe(false);
    expect(useRustWhitespace(seq)).toBe(0);
  });
});
