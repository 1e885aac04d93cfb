/** Bad input fails with a typed error that names the culprit; nothing reaches Python when TypeScript can tell. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  InvalidInputError,
  InvalidOptionError,
  ModelNotFoundError,
  NotFittedError,
  Probe,
  PythonRuntime,
} from "../../src/index.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("fit arguments", () => {
  const probe = new Probe({ model: models.gpt2.path, layers: 0, runtime });

  it.each([
    ["an empty prompt list", () => probe.fit([], []), "positivePrompts"],
    ["an empty negative set", () => probe.fit(CATS, [] as string[]), "negativePrompts"],
    ["labels of the wrong length", () => probe.fit(CATS, [1, 0]), "labels"],
    ["a non-string prompt", () => probe.fit([...CATS, 42 as unknown as string], DOGS), "positivePrompts"],
    [
      "one class only",
      () =>
        probe.fit(
          CATS,
          CATS.map(() => 1),
        ),
      "labels",
    ],
    [
      "non-integer labels",
      () =>
        probe.fit(
          CATS,
          CATS.map((_, i) => i / 10),
        ),
      "labels",
    ],
    ["sample weights of the wrong length", () => probe.fit(CATS, DOGS, { sampleWeight: [1, 2] }), "sampleWeight"],
    ["an empty-string prompt", () => probe.fit(CATS, [...DOGS.slice(0, 3), "", ...DOGS.slice(3)]), "negativePrompts"],
    ["an empty-string prompt to warm up", () => probe.warmup(["A cat.", ""]), "prompts"],
  ])("rejects %s with InvalidInputError", async (_name, call, argument) => {
    const err = await rejection(call());
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).argument).toBe(argument);
    expect((err as InvalidInputError).code).toBe("INVALID_INPUT");
  });

  it("names the empty prompt's index (before: a torch reshape error, or a batch-dependent value)", async () => {
    const err = await rejection(probe.fit(["A cat.", "", "The cat sat."], DOGS));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).index).toBe(1);
    expect(err.message).toBe("positivePrompts[1] is an empty string: prompts must be non-empty.");
  });

  it("never started a worker for any of them", async () => {
    expect(await runtime.pid()).toBeUndefined();
  });
});

describe("options and models", () => {
  it("rejects a layer index beyond the model's layer count before Python starts", async () => {
    const own = new PythonRuntime();
    const probe = new Probe({ model: models.llama.path, layers: 40, runtime: own });
    const err = await rejection(probe.fit(CATS, DOGS));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe("layers");
    expect(err.message).toContain("has 4 layers");
    expect(await own.pid()).toBeUndefined();
  });

  it("rejects a model folder without config.json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "no-config-"));
    writeFileSync(join(dir, "README.md"), "not a model");
    const err = await rejection(new Probe({ model: dir, runtime }).fit(CATS, DOGS));
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err.message).toContain("no config.json");
  });

  it("rejects a path that does not exist", async () => {
    const err = await rejection(new Probe({ model: "./does/not/exist", runtime }).fit(CATS, DOGS));
    expect(err).toBeInstanceOf(ModelNotFoundError);
  });

  it("rejects predict before fit with NotFittedError", async () => {
    const err = await rejection(new Probe({ model: models.gpt2.path, runtime }).predict(["x"]));
    expect(err).toBeInstanceOf(NotFittedError);
    expect(err.message).toContain("predict() needs a fitted probe");
  });
});

describe("prompts the model cannot take (checked by the worker after tokenization)", () => {
  // gpt2's tiny model has n_positions 256 (test/fixtures/make_tiny_models.py); ~7 tokens a sentence.
  const long = "The cat sat on the mat. ".repeat(60);

  it("a prompt over the model's positions names it, its tokens and the limit (before: IndexError)", async () => {
    const probe = new Probe({ model: models.gpt2.path, layers: 0, runtime });
    // The worker sees the uncached prompts deduplicated and sorted by length (the long one last);
    // the error still counts in the caller's list, where the long prompt is the first.
    const err = await rejection(probe.fit([long, ...CATS], DOGS));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).argument).toBe("prompts");
    expect((err as InvalidInputError).index).toBe(0);
    expect(err.message).toMatch(/^prompt 0 has \d+ tokens; the model takes at most 256$/);
    const tokens = Number(/has (\d+) tokens/.exec(err.message)![1]);
    expect(tokens).toBeGreaterThan(256);
  });

  it("the same probe still works on prompts the model takes", async () => {
    const probe = new Probe({ model: models.gpt2.path, layers: 0, runtime });
    await probe.fit(CATS, DOGS);
    expect(await probe.predict(["The cat is here."])).toHaveLength(1);
  });
});
