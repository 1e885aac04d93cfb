/**
 * A worker that only fits (every activation cached) never imports torch or transformers: through
 * the real worker, a fresh runtime fits from a cache another runtime filled and still equals it.
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime, type LinearModelState } from "../../src/index.js";
import { freshDir } from "../helpers/cache.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtimes: PythonRuntime[] = [];
const fresh = () => {
  const r = new PythonRuntime();
  runtimes.push(r);
  return r;
};
afterAll(() => Promise.all(runtimes.map((r) => r.close())));

describe("fit-only worker", () => {
  it("fits and predicts from the cache without importing torch, transformers or nnsight", async () => {
    const cacheDir = freshDir();
    const options = { model: models.llama.path, layers: [1, 3], randomState: 0, cacheDir };
    const warmRuntime = fresh();
    await new Probe({ ...options, runtime: warmRuntime }).warmup([...CATS, ...DOGS]);
    // The runtime that extracted did import them: the diagnostic is not blind.
    expect((await warmRuntime.call("loaded_models", {})).imported).toEqual(expect.arrayContaining(["torch"]));

    const runtime = fresh();
    const info = await runtime.ready();
    expect(info.device).toBe("auto"); // unresolved: resolving would have imported torch
    expect(info.versions.torch).toMatch(/^\d+\.\d+/);
    const probe = new Probe({ ...options, runtime });
    await probe.fit(CATS, DOGS);
    const proba = await probe.predictProba(CATS.slice(0, 3));
    const diag = await runtime.call("loaded_models", {});
    expect(diag.models).toEqual([]);
    expect(diag.imported).toContain("sklearn");
    expect(diag.imported.filter((m) => ["torch", "transformers", "nnsight"].includes(m))).toEqual([]);

    const direct = new Probe({ ...options, cacheDir: null, runtime: warmRuntime });
    await direct.fit(CATS, DOGS);
    const a = (probe.fittedState.model as LinearModelState).coef;
    const b = (direct.fittedState.model as LinearModelState).coef;
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-4));
    expect(proba).toHaveLength(3);
  });

  it("resolves the device on request, which imports torch", async () => {
    const runtime = fresh();
    await runtime.ready();
    const info = await runtime.call("hello", { resolve_device: true });
    expect(info.device).toBe("cpu");
    expect(info.threads).toBeGreaterThan(0);
    expect((await runtime.call("loaded_models", {})).imported).toContain("torch");
  });
});
