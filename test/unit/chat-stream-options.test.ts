/**
 * Chat input and streaming reductions, the TypeScript half: the `tokens` option, conversation
 * validation, conversations' cache keys, and the ema:/rolling: reductions' parsing and values.
 * No worker: these all fail (or compute) before Python is involved.
 */
import { describe, expect, it } from "vitest";
import { InvalidInputError, InvalidOptionError, Probe } from "../../src/index.js";
import { promptKey, tokenRoles } from "../../src/chat/chat-input.js";
import { parseProbeOptions } from "../../src/config/probe-options.js";
import { resolveInferencePooling } from "../../src/estimator/pooling.js";
import { reduceStream } from "../../src/estimator/stream-reductions.js";
import { checkPrompts } from "../../src/estimator/training-data.js";

function optionError(options: unknown): InvalidOptionError {
  try {
    new Probe(options as never);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error("expected InvalidOptionError");
}

function inputError(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error("expected InvalidInputError");
}

const conv = [
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello" },
];

describe("the tokens option", () => {
  it('defaults to "all" and takes "assistant" or a role list', () => {
    expect(parseProbeOptions({ model: "/m" }).tokens).toBe("all");
    expect(parseProbeOptions({ model: "/m", tokens: "assistant" }).tokens).toBe("assistant");
    expect(tokenRoles(parseProbeOptions({ model: "/m", tokens: ["user", "system"] }).tokens)).toEqual([
      "system",
      "user",
    ]);
    expect(tokenRoles("all")).toBeNull();
    expect(tokenRoles("assistant")).toEqual(["assistant"]);
  });

  it.each([
    ["an unknown role", ["asistant"], /one of system, developer, user, assistant/],
    ["an empty list", [], /at least one role/],
    ["a repeated role", ["user", "user"], /twice/],
    ["another string", "assistants", /tokens/],
    ["a number", 3, /tokens/],
  ])("refuses %s naming the option", (_what, tokens, message) => {
    const err = optionError({ model: "/m", tokens });
    expect(err.option).toBe("tokens");
    expect(err.message).toMatch(message);
  });
});

describe("conversations as prompts", () => {
  it("mixes with strings; messages are copied to plain { role, content }", () => {
    const list = checkPrompts(["text", conv], "prompts", ["assistant"]);
    expect(list).toEqual(["text", conv]);
    expect(list[1]).not.toBe(conv);
  });

  it.each([
    ["an empty conversation", [], /at least one message/, null],
    ["non-string content", [{ role: "user", content: 3 }], /\[0\]\[content\]/, null],
    ["a missing role", [{ content: "x" }], /\[0\]\[role\]/, null],
    ["an empty role", [{ role: "", content: "x" }], /role must be a non-empty string/, null],
    ["an extra key", [{ role: "user", content: "x", name: "bob" }], /name/, null],
    ["a message that is a string", ["hello"], /\[0\]/, null],
    ["no message of the masked roles", [{ role: "user", content: "x" }], /tokens: "all"/, ["assistant"]],
    ["masked roles with empty content only", [{ role: "assistant", content: "" }], /no message of role/, ["assistant"]],
  ])("refuses %s naming the argument and the index", (_what, bad, message, roles) => {
    const err = inputError(() => checkPrompts(["ok", bad], "positivePrompts", roles));
    expect(err.argument).toBe("positivePrompts");
    expect(err.index).toBe(1);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^positivePrompts\[1\]/);
  });
});

describe("cache keys", () => {
  const t = "template-hash";
  it("a string keeps its text hash whatever the mask; a conversation's key covers template, messages and mask", () => {
    expect(promptKey("abc", t, ["assistant"])).toBe(promptKey("abc", undefined, null));
    const keys = new Set([
      promptKey(conv, t, null),
      promptKey(conv, t, ["assistant"]),
      promptKey(conv, t, ["user"]),
      promptKey(conv, "other-template", null),
      promptKey([conv[0]!, { role: "assistant", content: "Hello!" }], t, null),
      promptKey([{ role: "system", content: "Hi" }, conv[1]!], t, null),
      promptKey(JSON.stringify(conv), t, null),
    ]);
    expect(keys.size).toBe(7);
    expect(promptKey(structuredClone(conv), t, ["assistant"])).toBe(promptKey(conv, t, ["assistant"]));
  });
});

describe("ema:ALPHA and rolling:N", () => {
  it("parse as score-level reductions, bare or with score:", () => {
    for (const v of ["ema:0.3", "score:ema:0.3", "rolling:4", "score:rolling:4", "ema:1", "ema:1e-2"]) {
      const stage = resolveInferencePooling("last_token", parseProbeOptions({ inferencePooling: v }).inferencePooling);
      expect(stage).toEqual({ stage: "score", reduction: v.replace(/^score:/, "") });
    }
  });

  it.each([
    ["inferencePooling", "ema:0", /0 < ALPHA <= 1/],
    ["inferencePooling", "ema:1.5", /0 < ALPHA <= 1/],
    ["inferencePooling", "ema:-0.2", /0 < ALPHA <= 1/],
    ["inferencePooling", "ema:", /0 < ALPHA <= 1/],
    ["inferencePooling", "score:ema:abc", /0 < ALPHA <= 1/],
    ["inferencePooling", "ema:Infinity", /0 < ALPHA <= 1/],
    ["inferencePooling", "rolling:0", /positive integer/],
    ["inferencePooling", "rolling:2.5", /positive integer/],
    ["inferencePooling", "rolling:x", /positive integer/],
    ["pooling", "rolling:-3", /positive integer/],
    ["inferencePooling", "activation:ema:0.5", /inferencePooling must be/],
  ])("%s %s is refused naming the option", (option, value, message) => {
    const err = optionError({ model: "/m", [option]: value, trainPooling: "mean" });
    expect(err.option).toBe(option);
    expect(err.message).toMatch(message);
  });

  it("cannot train with a streaming pooling", () => {
    const err = optionError({ model: "/m", pooling: "ema:0.5" });
    expect(err.option).toBe("pooling");
    expect(err.message).toMatch(/inference only/);
  });

  it("ema: s_0 = p_0, s_t = α p_t + (1 − α) s_{t−1}, then the max", () => {
    const p = [0.1, 0.9, 0.2, 0.8];
    const s = [0.1];
    for (let t = 1; t < p.length; t++) s.push(0.5 * p[t]! + 0.5 * s[t - 1]!);
    expect(reduceStream(p, { kind: "ema", alpha: 0.5 })).toBeCloseTo(Math.max(...s), 12);
    expect(reduceStream(p, { kind: "ema", alpha: 1 })).toBe(0.9);
    expect(reduceStream([0.4], { kind: "ema", alpha: 0.1 })).toBe(0.4);
  });

  it("rolling: the max over full windows' means; a short sequence is one window", () => {
    const p = [0.1, 0.9, 0.2, 0.8, 0.0];
    const means = [0, 1, 2].map((t) => (p[t]! + p[t + 1]! + p[t + 2]!) / 3);
    expect(reduceStream(p, { kind: "rolling", n: 3 })).toBeCloseTo(Math.max(...means), 12);
    expect(reduceStream(p, { kind: "rolling", n: 1 })).toBe(0.9);
    expect(reduceStream([0.2, 0.4], { kind: "rolling", n: 8 })).toBeCloseTo(0.3, 12);
  });
});
