/** The activation cache through the real worker: hits, partial hits, derived poolings, bounds. */
import { afterAll, describe, expect, inject, it } from "vitest";
import { ActivationCache, Probe, PythonRuntime, type ProgressEvent } from "../../src/index.js";
import type { LinearModelState } from "../../src/index.js";
import { CATS, DOGS } from "../helpers/prompts.js";
import { freshDir, manyPrompts } from "../helpers/cache.js";

const models = inject("tinyModels");
const runtimes: PythonRuntime[] = [];
const fresh = () => {
  const r = new PythonRuntime();
  runtimes.push(r);
  return r;
};
afterAll(() => Promise.all(runtimes.map((r) => r.close())));

const extractEvents = (events: ProgressEvent[]) =>
  events.filter((e): e is Extract<ProgressEvent, { type: "extract" }> => e.type === "extract");

describe("activation cache", () => {
  it("serves a second fit entirely from the cache without loading the model", async () => {
    const cacheDir = freshDir();
    const first = new Probe({ model: models.llama.path, layers: [1, 3], randomState: 0, cacheDir, runtime: fresh() });
    await first.fit(CATS, DOGS);
    const runtime = fresh();
    const second = new Probe({ model: models.llama.path, layers: [1, 3], randomState: 0, cacheDir, runtime });
    const events: ProgressEvent[] = [];
    await second.fit(CATS, DOGS, { onProgress: (e) => events.push(e) });
    expect(extractEvents(events)).toEqual([{ type: "extract", completed: 20, total: 20, tokens: 0, cached: 20 }]);
    expect((await runtime.request("loaded_models", {})).models).toEqual([]);
    expect((second.fittedState.model as LinearModelState).coef).toEqual(
      (first.fittedState.model as LinearModelState).coef,
    );
    expect(await second.predictProba(CATS.slice(0, 2))).toEqual(await first.predictProba(CATS.slice(0, 2)));
  });

  it("extracts only the prompts that are missing", async () => {
    const cacheDir = freshDir();
    const runtime = fresh();
    const probe = new Probe({ model: models.gpt2.path, layers: 0, cacheDir, runtime });
    expect(await probe.warmup([...CATS.slice(0, 5), ...DOGS.slice(0, 5)])).toEqual({ prompts: 10, cached: 0 });
    const events: ProgressEvent[] = [];
    await probe.fit(CATS, DOGS, { onProgress: (e) => events.push(e) });
    const extract = extractEvents(events);
    expect(extract.at(-1)).toMatchObject({ completed: 20, total: 20, cached: 10 });
    expect(await probe.warmup([...CATS, ...DOGS])).toEqual({ prompts: 20, cached: 20 });
    // A new layer is a miss for every prompt.
    const other = new Probe({ model: models.gpt2.path, layers: [0, 1], cacheDir, runtime });
    expect(await other.warmup(CATS)).toEqual({ prompts: 10, cached: 0 });
  });

  it("derives any pooling from cached full sequences, equal to a fresh extraction", async () => {
    const cacheDir = freshDir();
    const warm = new Probe({ model: models.llama.path, layers: [0, 2], cacheDir, runtime: fresh() });
    await warm.warmup([...CATS, ...DOGS], { fullSequence: true });
    const directRuntime = fresh();
    for (const pooling of ["last_token", "first_token", "mean"] as const) {
      const runtime = fresh();
      const cached = new Probe({
        model: models.llama.path,
        layers: [0, 2],
        pooling,
        randomState: 0,
        cacheDir,
        runtime,
      });
      await cached.fit(CATS, DOGS);
      expect((await runtime.request("loaded_models", {})).models).toEqual([]);
      const direct = new Probe({
        model: models.llama.path,
        layers: [0, 2],
        pooling,
        randomState: 0,
        cacheDir: null,
        runtime: directRuntime,
      });
      await direct.fit(CATS, DOGS);
      const a = (cached.fittedState.model as LinearModelState).coef;
      const b = (direct.fittedState.model as LinearModelState).coef;
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-4));
    }
  });

  it("re-extracts everything with invalidateCache", async () => {
    const cacheDir = freshDir();
    const probe = new Probe({ model: models.gpt_neox.path, layers: 1, cacheDir, runtime: fresh() });
    await probe.warmup(CATS);
    expect(await probe.warmup(CATS, { invalidateCache: true })).toEqual({ prompts: 10, cached: 0 });
    expect(await probe.warmup(CATS)).toEqual({ prompts: 10, cached: 10 });
  });

  it("keeps itself under LMPROBE_CACHE_MAX_GB by evicting the least recently used entries", async () => {
    const cacheDir = freshDir();
    const bound = 40 * 32 * 4; // 40 pooled 32-float vectors
    process.env.LMPROBE_CACHE_MAX_GB = String(bound / 1024 ** 3);
    try {
      const probe = new Probe({ model: models.gpt2.path, layers: 0, cacheDir, runtime: fresh() });
      await probe.warmup(manyPrompts(30, "old"));
      await probe.warmup(manyPrompts(30, "new"));
      const cache = new ActivationCache(cacheDir);
      expect(cache.totalBytes()).toBeLessThanOrEqual(bound);
      cache.close();
      // The newest 30 survive; of the 30 older entries (equally old) only 10 fit beside them.
      expect((await probe.warmup(manyPrompts(30, "new"))).cached).toBe(30);
      expect((await probe.warmup(manyPrompts(30, "old"))).cached).toBe(10);
    } finally {
      delete process.env.LMPROBE_CACHE_MAX_GB;
    }
  });

  it("stores float16 when asked, at half the size and within float16 precision", async () => {
    const cacheDir = freshDir();
    const half = new Probe({
      model: models.llama.path,
      layers: 1,
      cacheDtype: "float16",
      randomState: 0,
      cacheDir,
      runtime: fresh(),
    });
    await half.fit(CATS, DOGS);
    const cache = new ActivationCache(cacheDir);
    expect(cache.totalBytes()).toBe(20 * 32 * 2);
    cache.close();
    const again = new Probe({
      model: models.llama.path,
      layers: 1,
      cacheDtype: "float16",
      randomState: 0,
      cacheDir,
      runtime: fresh(),
    });
    expect(await again.warmup([...CATS, ...DOGS])).toEqual({ prompts: 20, cached: 20 });
    // A float32 probe does not take lossy entries for exact ones.
    const exact = new Probe({ model: models.llama.path, layers: 1, cacheDir, runtime: fresh() });
    expect((await exact.warmup(CATS)).cached).toBe(0);
  });

  it("reports per-model info, prunes to a size and clears by model", async () => {
    const cacheDir = freshDir();
    const runtime = fresh();
    await new Probe({ model: models.gpt2.path, layers: [0, 1], cacheDir, runtime }).warmup(CATS);
    await new Probe({ model: models.gpt_neox.path, layers: 0, cacheDir, runtime }).warmup(DOGS);
    const cache = new ActivationCache(cacheDir);
    const info = cache.info();
    expect(info.map((m) => [m.model, m.entries, m.prompts, m.layers])).toEqual([
      [models.gpt2.path, 20, 10, 2],
      [models.gpt_neox.path, 10, 10, 1],
    ]);
    expect(info[0]!.bytes).toBe(20 * 32 * 4);
    expect(cache.evictTo(10 * 32 * 4).removed).toBe(20);
    expect(cache.clear(models.gpt_neox.path)).toBe(10);
    expect(cache.info()).toEqual([]);
    cache.close();
  });
});

describe("progress", () => {
  it("reports a model load once, not once per extraction chunk", async () => {
    const probe = new Probe({ model: models.gpt2.path, layers: 0, batchSize: 4, cacheDir: null, runtime: fresh() });
    const events: ProgressEvent[] = [];
    await probe.warmup(manyPrompts(150, "chunks"), { onProgress: (e) => events.push(e) });
    expect(events.filter((e) => e.type === "model").map((e) => (e as { phase: string }).phase)).toEqual([
      "loading",
      "loaded",
    ]);
    expect(events.filter((e) => e.type === "extract").at(-1)).toMatchObject({ completed: 150, total: 150 });
  });
});
