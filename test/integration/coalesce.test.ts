/**
 * Coalescing of concurrent extractions (issue 13, item 4), through the real worker: concurrent
 * one-prompt predictions on one runtime share one extract request, each caller gets its own rows,
 * and one caller's abort leaves the others' results alone. Requests are counted with the
 * runtime's internal counter (`extractRequestsSent`), never timed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { AbortError, InvalidInputError, InvalidOptionError, Probe, PythonRuntime } from "../../src/index.js";
import { extractRequestsSent } from "../../src/extraction/coalescer.js";
import { BIRDS, CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const model = models.llama.path;
// A long window so that the calls of one test always meet, however loaded the machine is.
const runtime = new PythonRuntime({ coalesceMs: 200 });
const plain = new PythonRuntime({ coalesceMs: 0 });
afterAll(() => Promise.all([runtime.close(), plain.close()]));

const PROMPTS = [...BIRDS.slice(0, 4), ...CATS.slice(0, 2), ...DOGS.slice(0, 2)];

async function fitted(on: PythonRuntime, cacheDir: string | null = null) {
  const probe = new Probe({ model, layers: [0, 1], randomState: 0, runtime: on, cacheDir, batchSize: 8 });
  await probe.fit(CATS, DOGS);
  await probe.warmup(["load the model before counting"]);
  return probe;
}

describe("concurrent extractions on one runtime", () => {
  it("share one extract request and give each caller its own rows, as one call with all prompts does", async () => {
    const probe = await fitted(runtime);
    const before = extractRequestsSent(runtime);
    const each = await Promise.all(PROMPTS.map((p) => probe.predictProba([p])));
    expect(extractRequestsSent(runtime) - before).toBe(1);
    // The merged request is one batch of the same 8 prompts as a single 8-prompt call (batchSize 8),
    // so the activations, and the probabilities, are bit-identical to that call's.
    const together = await new Probe({ model, layers: [0, 1], randomState: 0, runtime: plain, cacheDir: null })
      .fit(CATS, DOGS)
      .then((p) => p.predictProba(PROMPTS));
    expect(each.map((rows) => rows[0])).toEqual(together);
    // Against one prompt a call (no padding at all) they differ only in padding's last bits.
    const single = await fitted(plain);
    for (const [i, p] of PROMPTS.entries()) {
      const [alone] = await single.predictProba([p]);
      alone!.forEach((v, k) => expect(Math.abs(v - each[i]![0]![k]!)).toBeLessThan(1e-4));
    }
  });

  it("sends without coalescing (coalesceMs: 0) one request per call", async () => {
    const probe = await fitted(plain);
    const before = extractRequestsSent(plain);
    await Promise.all(PROMPTS.slice(0, 3).map((p) => probe.predictProba([p])));
    expect(extractRequestsSent(plain) - before).toBe(3);
  });

  it("sends a prompt two callers ask for once and caches it once", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "lmprobe-coalesce-"));
    const probe = await fitted(runtime, cacheDir);
    const before = extractRequestsSent(runtime);
    const [a, b, c] = await Promise.all([
      probe.predictProba([PROMPTS[0]!, PROMPTS[1]!]),
      probe.predictProba([PROMPTS[1]!, PROMPTS[2]!]),
      probe.predictProba([PROMPTS[1]!]),
    ]);
    expect(extractRequestsSent(runtime) - before).toBe(1);
    expect(b![0]).toEqual(a![1]);
    expect(c![0]).toEqual(a![1]);
    // Everything is in the cache now: the same calls again reach no worker.
    const again = await probe.predictProba([PROMPTS[0]!, PROMPTS[1]!, PROMPTS[2]!]);
    expect(extractRequestsSent(runtime) - before).toBe(1);
    expect(again).toEqual([a![0], a![1], b![1]]);
  });

  it("drops only an aborted caller's prompts before the request is sent", async () => {
    const probe = await fitted(runtime);
    const before = extractRequestsSent(runtime);
    const stop = new AbortController();
    const calls = PROMPTS.slice(0, 4).map((p, i) => probe.predictProba([p], i === 1 ? { signal: stop.signal } : {}));
    // Aborted inside the window, once its extraction has joined the merge.
    setTimeout(() => stop.abort(), 50);
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes[1]).toMatchObject({ status: "rejected", reason: expect.any(AbortError) });
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(3);
    expect(extractRequestsSent(runtime) - before).toBe(1);
    const [alone] = await probe.predictProba([PROMPTS[1]!]);
    expect(alone).toHaveLength(2);
  });

  it("abandons only an aborted caller's share once the merged request is running", async () => {
    const probe = await fitted(runtime);
    const stop = new AbortController();
    const calls = PROMPTS.map((p, i) =>
      probe.predictProba(
        [p],
        i === 0 ? { signal: stop.signal, onProgress: (e) => e.type === "extract" && stop.abort() } : {},
      ),
    );
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes[0]).toMatchObject({ status: "rejected", reason: expect.any(AbortError) });
    const rest = outcomes.slice(1).map((o) => (o.status === "fulfilled" ? o.value[0] : o.reason));
    const expected = await fitted(plain).then((p) => p.predictProba(PROMPTS.slice(1)));
    rest.forEach((row, i) =>
      (row as number[]).forEach((v, k) => expect(Math.abs(v - expected[i]![k]!)).toBeLessThan(1e-4)),
    );
  });

  it("fails only the caller of a prompt the worker refuses, naming it in that caller's list", async () => {
    // gpt2's tiny model takes 256 positions (test/fixtures/make_tiny_models.py): this prompt is longer.
    const long = "The cat sat on the mat. ".repeat(60);
    const probe = new Probe({ model: models.gpt2.path, layers: 0, randomState: 0, runtime, cacheDir: null });
    await probe.fit(CATS, DOGS);
    const before = extractRequestsSent(runtime);
    const [bad, good] = await Promise.allSettled([
      probe.predictProba([CATS[0]!, long]),
      probe.predictProba([DOGS[0]!, DOGS[1]!]),
    ]);
    expect(bad).toMatchObject({ status: "rejected", reason: expect.any(InvalidInputError) });
    const err = (bad as PromiseRejectedResult).reason as InvalidInputError;
    expect(err.index).toBe(1);
    expect(err.message).toMatch(/^prompt 1 has \d+ tokens; the model takes at most 256$/);
    expect(good.status).toBe("fulfilled");
    // The merged request, then the innocent caller's prompts again on their own.
    expect(extractRequestsSent(runtime) - before).toBe(2);
  });

  it("refuses a coalescing window that is not a number of milliseconds", () => {
    expect(() => new PythonRuntime({ coalesceMs: -1 })).toThrow(InvalidOptionError);
    expect(() => new PythonRuntime({ coalesceMs: Number.NaN })).toThrow(/coalesceMs/);
  });
});
