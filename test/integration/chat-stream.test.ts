/**
 * Chat conversations and streaming scores through the real worker: token ids equal transformers'
 * apply_chat_template (computed in Python in the test), the assistant mask selects exactly the
 * assistant content, cache keys follow the mask, a conversation probe saves and loads, and the
 * ema:/rolling: reductions equal a direct computation from scoreTokens' per-token probabilities.
 * One worker for the file; the tiny llama_chat model (its template writes BOS itself) and, for
 * tokenization only (no forward pass), the embedded SmolLM2.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  ActivationCache,
  InvalidInputError,
  InvalidOptionError,
  NotSupportedError,
  Probe,
  PythonRuntime,
  UnsupportedModelError,
  type Conversation,
  type ProbeOptions,
} from "../../src/index.js";
import { resolveModel } from "../../src/models/resolve-model.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());
const chatModel = models.llama_chat.path;

const chat = (user: string, assistant: string, system?: string): Conversation => [
  ...(system ? [{ role: "system", content: system }] : []),
  { role: "user", content: user },
  { role: "assistant", content: assistant },
];

/** Conversations for the id comparison: system/user/assistant, multi-turn, Unicode, user-only. */
const CONVERSATIONS: Conversation[] = [
  chat("Is the sky blue?", "Yes, the sky is blue.", "You are a careful assistant."),
  [
    { role: "user", content: "3 + 4 = ?" },
    { role: "assistant", content: "7" },
    { role: "user", content: "And 2 + 2?" },
    { role: "assistant", content: "It is 4." },
  ],
  chat("Café ☕ or 茶? 😀", "Both 👍🏽 — très bien, ça va."),
  [{ role: "user", content: "The cat sat on the mat." }],
];

const POSITIVE = [
  chat("Tell me.", "The cat sat on the mat."),
  chat("And then?", "A small cat sleeps on the warm sofa."),
  chat("What now?", "Cats like fish."),
  chat("Tell me.", "My cat and the red ball."),
  chat("Go on.", "The cats chased a red ball."),
  chat("Well?", "A cat sleeps."),
];
const NEGATIVE = [
  chat("Tell me.", "The dog ran in the park."),
  chat("And then?", "A big dog barks at the mailman."),
  chat("What now?", "Dogs like bones."),
  chat("Tell me.", "My dog played in the garden."),
  chat("Go on.", "The dogs played all day."),
  chat("Well?", "A dog barks."),
];

/** transformers' own apply_chat_template(tokenize=True) ids, computed in Python. */
async function templateIds(folder: string, conversations: Conversation[]): Promise<number[][]> {
  const code =
    "import json, sys\nfrom transformers import AutoTokenizer\n" +
    "tok = AutoTokenizer.from_pretrained(sys.argv[1])\n" +
    "out = [tok.apply_chat_template(c, tokenize=True, add_generation_prompt=False) for c in json.load(sys.stdin)]\n" +
    "print(json.dumps([list(o['input_ids'] if hasattr(o, 'keys') else o) for o in out]))";
  const { stdout } = await execa(inject("python"), ["-c", code, folder], {
    input: JSON.stringify(conversations),
    env: { HF_HUB_OFFLINE: "1" },
  });
  return JSON.parse(stdout.trim().split("\n").pop()!) as number[][];
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("rendering: token ids equal transformers' apply_chat_template(tokenize=True)", () => {
  it("on the tiny chat model, whose template writes BOS (so no second BOS is added)", async () => {
    const expected = await templateIds(chatModel, CONVERSATIONS);
    const reply = await runtime.call("tokenize", { model: chatModel, prompts: CONVERSATIONS });
    expect(reply.ids).toEqual(expected);
    const bos = expected[0]![0]!;
    for (const ids of reply.ids) expect(ids.filter((t) => t === bos)).toHaveLength(1);
  });

  it("on the embedded SmolLM2 (chat_template.jinja)", async () => {
    const model = await resolveModel("embedded:smollm2-135m", { runtime });
    const expected = await templateIds(model.path, CONVERSATIONS);
    const reply = await runtime.call("tokenize", { model: model.path, prompts: CONVERSATIONS });
    expect(reply.ids).toEqual(expected);
  });

  it("the extraction reads exactly those tokens (one score per template token)", async () => {
    const probe = new Probe({ model: chatModel, layers: 1, runtime, randomState: 0 });
    await probe.fit(POSITIVE, NEGATIVE);
    const expected = await templateIds(chatModel, CONVERSATIONS.slice(0, 3));
    for (const [i, conv] of CONVERSATIONS.slice(0, 3).entries()) {
      const scored = await probe.scoreTokens(conv);
      expect(scored.tokens).toHaveLength(expected[i]!.length);
    }
  });
});

describe('tokens: "assistant"', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "chat-cache-"));
  const base: ProbeOptions = { model: chatModel, layers: [1, 2], runtime, randomState: 0, cacheDir };
  const all = new Probe({ ...base, pooling: "mean" });
  const assistant = new Probe({ ...base, pooling: "mean", tokens: "assistant" });
  beforeAll(async () => {
    await all.fit(POSITIVE, NEGATIVE);
    await assistant.fit(POSITIVE, NEGATIVE);
  });

  // First in this block: later tests add entries (scoreTokens caches full sequences).
  it("cache keys differ between all and assistant: the second probe's prompts were not hits", async () => {
    const store = new ActivationCache(cacheDir);
    try {
      const [info] = store.info();
      // Each distinct conversation is stored twice: once per mask (12 prompts, 2 layers, mean).
      expect(info!.prompts).toBe(2 * (POSITIVE.length + NEGATIVE.length));
    } finally {
      store.close();
    }
    expect(assistant.lastProfile!.extraction.cachedPrompts).toBe(0);
    const again = new Probe({ ...base, pooling: "mean", tokens: "assistant" });
    await again.fit(POSITIVE, NEGATIVE);
    expect(again.lastProfile!.extraction.cachedPrompts).toBe(POSITIVE.length + NEGATIVE.length);
    expect(again.fittedState).toEqual(assistant.fittedState);
    const [a, b] = [await all.predictProba(POSITIVE), await assistant.predictProba(POSITIVE)];
    expect(a).not.toEqual(b);
  });

  it("selects exactly the assistant messages' content tokens", async () => {
    for (const conv of CONVERSATIONS.slice(0, 3)) {
      const { text, tokens } = await assistant.scoreTokens(conv);
      const spans = tokens.map((t) => text.slice(t.start, t.end));
      // Consecutive tokens of one character share its span (byte pieces of an emoji): count it once.
      const joined = spans.filter((s, k) => k === 0 || tokens[k]!.start !== tokens[k - 1]!.start).join("");
      expect(joined).toBe(
        conv
          .filter((m) => m.role === "assistant")
          .map((m) => m.content)
          .join(""),
      );
      const everything = await all.scoreTokens(conv);
      expect(everything.text).toBe(text);
      expect(everything.tokens.length).toBeGreaterThan(tokens.length);
    }
  });

  it("last_token pooling reads the last assistant token", async () => {
    const conv = chat("Question?", "The cat sat.");
    const last = new Probe({ ...base, tokens: "assistant", cacheDir: null });
    await last.fit(POSITIVE, NEGATIVE);
    const { tokens } = await last.scoreTokens(conv);
    expect((await last.predictProba([conv]))[0]![1]).toBeCloseTo(tokens.at(-1)!.score, 6);
    // A user turn after it changes nothing: the mask still ends at the assistant's last token, and a
    // causal model's activations there do not see what follows.
    const longer: Conversation = [...conv, { role: "user", content: "Thanks!" }];
    const moreTokens = await last.scoreTokens(longer);
    expect(moreTokens.tokens.map((t) => t.token)).toEqual(tokens.map((t) => t.token));
    expect((await last.predictProba([longer]))[0]![1]).toBeCloseTo(tokens.at(-1)!.score, 5);
  });

  it("a probe fit on conversations saves (recording tokens), loads and predicts identically", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "chat-probe-")), "probe");
    await assistant.save(dir);
    const saved = JSON.parse(readFileSync(join(dir, "probe.json"), "utf8")) as { options: ProbeOptions };
    expect(saved.options.tokens).toBe("assistant");
    // The same cache: both read the entries scoreTokens stored above (the full sequences).
    const loaded = await Probe.load(dir, { runtime, cacheDir });
    expect(loaded.options.tokens).toBe("assistant");
    const mixed = [...CONVERSATIONS.slice(0, 3), "The cat sat on the mat."];
    expect(await loaded.predictProba(mixed)).toEqual(await assistant.predictProba(mixed));
  });
});

describe("every prompt-taking method takes conversations (mixed with strings)", () => {
  const options: ProbeOptions = { model: chatModel, runtime, randomState: 0, tokens: "assistant", cacheDir: null };
  const labels = [...POSITIVE.map(() => 1), ...NEGATIVE.map(() => 0)];

  it("labelled fit, warmup, score and evaluate", async () => {
    const probe = new Probe({ ...options, layers: 2, pooling: "mean" });
    await probe.fit([...POSITIVE, ...NEGATIVE], labels);
    const mixed = [...POSITIVE.slice(0, 2), "The cat sat on the mat.", POSITIVE[0]!];
    expect(await probe.warmup(mixed)).toEqual({ prompts: 3, cached: 0 });
    const accuracy = await probe.score([...POSITIVE, ...NEGATIVE], labels);
    const evaluation = await probe.evaluate([...POSITIVE, ...NEGATIVE], labels);
    expect(evaluation.nEval).toBe(labels.length);
    expect(evaluation.task === "classification" && evaluation.accuracy).toBe(accuracy);
    expect(await probe.predict(mixed)).toHaveLength(4);
  });

  it("Probe.sweepLayers and the sweep result's methods", async () => {
    const sweep = await Probe.sweepLayers({
      ...options,
      layers: [1, 2],
      positivePrompts: POSITIVE,
      negativePrompts: NEGATIVE,
    });
    try {
      const scores = await sweep.score([...POSITIVE, ...NEGATIVE], labels);
      expect(Object.keys(scores).map(Number)).toEqual([1, 2]);
      const single = new Probe({ ...options, layers: 2 });
      await single.fit(POSITIVE, NEGATIVE);
      expect((await sweep.predictProba(NEGATIVE))[2]).toEqual(await single.predictProba(NEGATIVE));
    } finally {
      await sweep.close();
    }
  });
});

describe("ema:ALPHA and rolling:N equal a direct computation from scoreTokens", () => {
  const options: ProbeOptions = { model: chatModel, layers: 2, runtime, randomState: 0, trainPooling: "mean" };
  const inputs = [chat("Tell me more.", "The cat sat 😀 on the warm mat, then a dog barked."), "A small cat sleeps."];

  const ema = (p: number[], a: number) => {
    const s = [p[0]!];
    for (let t = 1; t < p.length; t++) s.push(a * p[t]! + (1 - a) * s[t - 1]!);
    return Math.max(...s);
  };
  const rolling = (p: number[], n: number) => {
    if (p.length <= n) return p.reduce((x, y) => x + y, 0) / p.length;
    const means = p.slice(0, p.length - n + 1).map((_, t) => p.slice(t, t + n).reduce((x, y) => x + y, 0) / n);
    return Math.max(...means);
  };

  it.each([
    ["ema:0.3", (p: number[]) => ema(p, 0.3)],
    ["score:ema:1", (p: number[]) => Math.max(...p)],
    ["rolling:3", (p: number[]) => rolling(p, 3)],
    ["rolling:1000", (p: number[]) => rolling(p, 1000)],
  ] as const)("%s", async (inferencePooling, direct) => {
    for (const tokens of ["assistant", "all"] as const) {
      const probe = new Probe({ ...options, inferencePooling, tokens });
      await probe.fit(POSITIVE, NEGATIVE);
      const pooled = await probe.predictProba(inputs);
      for (const [i, input] of inputs.entries()) {
        const scored = await probe.scoreTokens(input);
        for (const c of [0, 1]) {
          const column = scored.tokens.map((t) => t.proba![c]!);
          expect(pooled[i]![c]).toBeCloseTo(direct(column), 10);
        }
      }
    }
  });
});

describe("scoreTokens offsets", () => {
  it("slice back to each token's text, with emoji, accents and CJK (UTF-16 offsets)", async () => {
    const probe = new Probe({ model: chatModel, layers: 1, runtime, randomState: 0 });
    await probe.fit(POSITIVE, NEGATIVE);
    const text = "Hi 😀 café, 茶 👍🏽 ok — the cat 🐈 sat.";
    for (const input of [text, chat("Q 😀?", text)]) {
      const scored = await probe.scoreTokens(input);
      if (typeof input === "string") expect(scored.text).toBe(text);
      let previousStart = 0;
      for (const t of scored.tokens) {
        const span = scored.text.slice(t.start, t.end);
        if (t.token.includes("\uFFFD")) {
          // a byte piece of a character: its span is that whole character (a complete code point)
          expect([...span]).toHaveLength(1);
          expect(span.codePointAt(0)!).toBeGreaterThan(0x7f);
        } else if (t.start < t.end) {
          expect(span).toBe(t.token);
        }
        expect(t.start).toBeGreaterThanOrEqual(previousStart); // in text order
        previousStart = t.start;
        expect(t.score).toBeGreaterThanOrEqual(0);
        expect(t.score).toBeLessThanOrEqual(1);
        expect(t.proba![1]).toBe(t.score);
      }
      const covered = new Set(scored.tokens.flatMap((t) => [...Array(t.end - t.start).keys()].map((k) => t.start + k)));
      // every character of the user's text is covered by some token
      const at = scored.text.lastIndexOf(text);
      for (let u = at; u < at + text.length; u++) expect(covered.has(u)).toBe(true);
    }
  });
});

describe("bad chat input fails before Python starts", () => {
  const own = new PythonRuntime();
  afterAll(() => own.close());
  const probe = new Probe({ model: chatModel, layers: 1, runtime: own, tokens: "assistant" });

  it.each([
    ["an empty conversation", [[], chat("a", "b")], "positivePrompts", 0],
    ["non-string content", [chat("a", "b"), [{ role: "user", content: 42 }]], "positivePrompts", 1],
    ["no assistant message under tokens: assistant", [[{ role: "user", content: "x" }]], "positivePrompts", 0],
  ])("%s", async (_what, positive, argument, index) => {
    const err = await rejection(probe.fit(positive as Conversation[], NEGATIVE));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).argument).toBe(argument);
    expect((err as InvalidInputError).index).toBe(index);
  });

  it("an unknown role in tokens is an option error", () => {
    expect(() => new Probe({ model: chatModel, tokens: ["asistant"] })).toThrow(InvalidOptionError);
  });

  it("a model without a chat template: UnsupportedModelError naming the fix", async () => {
    const plain = new Probe({ model: models.llama.path, layers: 1, runtime: own });
    const err = await rejection(plain.fit(POSITIVE, NEGATIVE));
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err.message).toMatch(/no chat_template\.jinja.*plain string prompt/s);
  });

  it("the nnsight backend refuses conversations", async () => {
    const nn = new Probe({ model: chatModel, layers: 1, runtime: own, backend: "nnsight" });
    expect(await rejection(nn.fit(POSITIVE, NEGATIVE))).toBeInstanceOf(NotSupportedError);
  });

  it("never started a worker for any of them", async () => {
    expect(await own.pid()).toBeUndefined();
  });
});
