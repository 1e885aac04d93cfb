/**
 * Extraction fanned out over a Ray cluster (issue 17), through the real worker and a real local
 * cluster (`ray start --head` on loopback, 2 CPUs, started and stopped by pid in this file): the
 * Ray path's activations (tiny models and the embedded model) and fitted probes equal a local
 * worker's bit for bit; an actor that dies mid-shard (by a test hook, or SIGKILL from outside) has
 * its shard retried and the numbers do not change; Node killed -9 mid-run loses only the chunk in
 * flight; an abort stops the actors; a lost or unreachable cluster is a RayClusterError. Skipped,
 * saying why, only when Ray cannot be installed.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AbortError, Probe, PythonRuntime, RayClusterError, ensurePythonEnv } from "../../src/index.js";
import type { LinearModelState } from "../../src/estimator/fitted-state.js";
import { ensureRay } from "../../src/env/ray-env.js";
import { resolveModel } from "../../src/models/resolve-model.js";
import type { Tensor } from "../../src/protocol/codec.js";
import type { Request } from "../../src/protocol/messages.js";
import { startRayCluster, type RayCluster } from "../helpers/ray-cluster.js";
import { freshDir, manyPrompts, runNode } from "../helpers/cache.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const model = inject("tinyModels").llama.path;
const env = await ensurePythonEnv();
const rayMissing = await ensureRay(env).then(
  () => undefined,
  (err: unknown) => String(err),
);
if (rayMissing) console.warn(`Ray tests skipped: Ray could not be installed (${rayMissing.slice(0, 300)})`);

// 20 prompts in batches of 4: 5 batches, 4 shards (2 per actor) of 2, 1, 1 and 1 batches.
const PROMPTS = [...CATS, ...DOGS];
const body = (pooling: "mean" | "none", group = false): Request<"extract"> => ({
  model,
  prompts: PROMPTS,
  layers: [0, 1],
  pooling,
  batch_size: 4,
  dtype: "float32",
  device: "cpu",
  group_by_length: group,
});

/** A tensor's own bytes (its data may be a view into a larger message frame). */
const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe.skipIf(rayMissing !== undefined)("extraction on a Ray cluster", () => {
  let cluster: RayCluster | undefined;
  let ray: PythonRuntime;
  const local = new PythonRuntime({ daemon: "off" });
  beforeAll(async () => {
    cluster = await startRayCluster(env.python);
    ray = new PythonRuntime({ ray: { address: cluster.address, workers: 2 } });
  }, 180_000);
  afterAll(async () => {
    await Promise.allSettled([ray?.close(), local.close()]);
    await cluster?.stop(); // even when a test failed
  }, 60_000);

  it("gives the local worker's activations bit for bit with 2 actors (pooled, and per token grouped)", async () => {
    for (const [pooling, group] of [
      ["mean", false],
      ["none", true],
    ] as const) {
      const [viaRay, direct] = await Promise.all([
        ray.call("extract", body(pooling, group)),
        local.call("extract", body(pooling, group)),
      ]);
      expect(viaRay.activations.dtype).toBe("float32");
      expect(viaRay.activations.shape).toEqual(direct.activations.shape);
      expect(bytes(viaRay.activations)).toEqual(bytes(direct.activations));
      expect(bytes(viaRay.lengths)).toEqual(bytes(direct.lengths));
      // The reply says the work was sharded over both actors.
      expect((viaRay as unknown as { ray: { actors: number; shards: number } }).ray).toMatchObject({
        actors: 2,
        shards: 4,
      });
    }
  }, 300_000);

  it("fits the same probe as a local worker: equal coefficients and probabilities", async () => {
    const fit = async (runtime: PythonRuntime) => {
      const probe = new Probe({ model, layers: [0, 1], randomState: 0, runtime, cacheDir: null, batchSize: 4 });
      await probe.fit(CATS, DOGS);
      return { coef: (probe.fittedState.model as LinearModelState).coef, proba: await probe.predictProba(PROMPTS) };
    };
    const [viaRay, direct] = await Promise.all([fit(ray), fit(local)]);
    expect(viaRay.coef).toEqual(direct.coef);
    expect(viaRay.proba).toEqual(direct.proba);
  }, 300_000);

  it("cancels every actor's work on abort; the same worker then serves the next request", async () => {
    // 400 one-prompt batches in 4 shards: when the first shard is done, at least two shards are
    // still queued, so the abort always lands while the request runs.
    const many = Array.from({ length: 400 }, (_, i) => `prompt number ${i}`);
    const pid = await ray.pid();
    const stop = new AbortController();
    const err = await ray
      .call(
        "extract",
        { ...body("mean"), prompts: many, batch_size: 1 },
        {
          signal: stop.signal,
          onProgress: (e) => {
            if (e.type === "extract") stop.abort();
          },
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    const [after, direct] = await Promise.all([ray.call("extract", body("mean")), local.call("extract", body("mean"))]);
    expect(await ray.pid()).toBe(pid); // stopped in time: not killed for a cancel it ignored
    expect(bytes(after.activations)).toEqual(bytes(direct.activations));
  }, 300_000);

  it("embedded smollm2-135m, 2 actors: bit for bit at the local worker's threads, ~1e-6 apart at Ray's 1", async () => {
    // Few prompts, two layers: a real model's numerics (30 layers, GQA, RoPE) at a small cost.
    const { path } = await resolveModel("embedded:smollm2-135m", { runtime: local });
    const { threads } = await local.call("hello", { resolve_device: true });
    const requests = (["mean", "none"] as const).map((pooling) => ({
      ...body(pooling, pooling === "none"),
      model: path,
      prompts: PROMPTS.slice(8, 14),
      layers: [5, 29],
      batch_size: 2,
    }));
    const direct = await Promise.all(requests.map((req) => local.call("extract", req)));
    const compare = async (runtime: PythonRuntime) => {
      let worst = 0;
      let scale = 0;
      let identical = true;
      for (const [k, req] of requests.entries()) {
        const viaRay = await runtime.call("extract", req);
        expect(viaRay.activations.dtype).toBe("float32");
        expect(viaRay.activations.shape).toEqual(direct[k]!.activations.shape);
        expect(bytes(viaRay.lengths)).toEqual(bytes(direct[k]!.lengths));
        // 3 batches of 2 prompts: 3 shards over both actors.
        expect((viaRay as unknown as { ray: { actors: number; shards: number } }).ray).toMatchObject({
          actors: 2,
          shards: 3,
        });
        identical &&= bytes(viaRay.activations).equals(bytes(direct[k]!.activations));
        const a = viaRay.activations.data as Float32Array;
        const b = direct[k]!.activations.data as Float32Array;
        for (let i = 0; i < a.length; i++) {
          worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
          scale = Math.max(scale, Math.abs(b[i]!));
        }
      }
      return { identical, worst, relative: worst / scale };
    };
    // Ray gives a CPU actor 1 torch thread; the local worker has torch's default (the cores). On CPU the
    // thread count changes how matrix products split their sums: equal only within float32 rounding.
    const ownThreads = await compare(ray);
    await ray.close(); // its actors hold the cluster's 2 CPUs
    await using matched = new PythonRuntime({
      ray: { address: cluster!.address, workers: 2, threadsPerWorker: threads },
      env: { LMPROBE_RAY_START_TIMEOUT_S: "120" },
    });
    const sameThreads = await compare(matched);
    console.info(
      `Ray vs local on embedded:smollm2-135m: actors with 1 thread: identical ${ownThreads.identical}, ` +
        `max |Δ| ${ownThreads.worst.toExponential(2)} (${ownThreads.relative.toExponential(2)} of max |x|); ` +
        `with the local worker's ${threads}: identical ${sameThreads.identical}`,
    );
    // With the local worker's thread count (ray.threadsPerWorker): bit for bit.
    expect(sameThreads).toMatchObject({ identical: true, worst: 0 });
    expect(ownThreads.relative).toBeLessThan(1e-4);
  }, 300_000);

  it("retries the shard of an actor that dies mid-shard on another actor; the numbers do not change", async () => {
    // The actor running shard 0 (2 batches) exits its process after the first one (a test hook,
    // LMPROBE_RAY_TEST_DIE_SHARD, read by the worker; the death itself is real). The first Ray runtime
    // is closed first: its actors hold the cluster's 2 CPUs, and these (and the replacement) need them.
    await ray.close();
    await using dying = new PythonRuntime({
      ray: { address: cluster!.address, workers: 2 },
      env: { LMPROBE_RAY_TEST_DIE_SHARD: "0", LMPROBE_RAY_START_TIMEOUT_S: "120" },
    });
    const progress: number[] = [];
    const [viaRay, direct] = await Promise.all([
      dying.call("extract", body("mean"), {
        onProgress: (e) => {
          if (e.type === "extract") progress.push(e.completed);
        },
      }),
      local.call("extract", body("mean")),
    ]);
    expect((viaRay as unknown as { ray: { retries: number } }).ray.retries).toBe(1);
    expect(bytes(viaRay.activations)).toEqual(bytes(direct.activations));
    // Progress per finished shard, ending at every prompt.
    expect(progress.length).toBe(4);
    expect(progress.at(-1)).toBe(PROMPTS.length);
  }, 300_000);

  it("retries the shard of an actor killed with SIGKILL from outside mid-run; the numbers do not change", async () => {
    // 4 shards of 100 one-prompt batches: when the first shard is done, both actors are on their
    // next shard for as long again, so the kill lands on one that is working.
    const many = Array.from({ length: 400 }, (_, i) => `prompt number ${i}`);
    await using victim = new PythonRuntime({
      ray: { address: cluster!.address, workers: 2 },
      env: { LMPROBE_RAY_START_TIMEOUT_S: "120" },
    });
    let killed: Promise<number[]> | undefined;
    const kill = async () => {
      const pids = await cluster!.actorPids();
      process.kill(pids[0]!, "SIGKILL");
      return pids;
    };
    const request = { ...body("mean"), prompts: many, batch_size: 1 };
    const [viaRay, direct] = await Promise.all([
      victim.call("extract", request, { onProgress: (e) => void (e.type === "extract" && (killed ??= kill())) }),
      local.call("extract", request),
    ]);
    expect(await killed).toHaveLength(2); // both actors were running, one of them was killed
    expect((viaRay as unknown as { ray: { retries: number } }).ray.retries).toBe(1);
    expect(bytes(viaRay.activations)).toEqual(bytes(direct.activations));
  }, 300_000);

  it("keeps what the cache committed when Node is killed -9 mid-run on Ray; a rerun extracts the rest", async () => {
    // Chunks of 64 prompts (batch 4, 2 actors), each one request sharded over the actors and
    // committed when it is back: killed in the third chunk, the first two stay.
    const cacheDir = freshDir();
    const prompts = manyPrompts(240, "ray-kill");
    const child = runNode(`
      const runtime = new SDK.PythonRuntime({ ray: { address: ${JSON.stringify(cluster!.address)}, workers: 2 } });
      const probe = new SDK.Probe({ model: ${JSON.stringify(model)}, layers: [0, 1], batchSize: 4,
        cacheDir: ${JSON.stringify(cacheDir)}, runtime });
      await probe.warmup(${JSON.stringify(prompts)}, {
        onProgress: (e) => e.type === "extract" && console.log("done " + e.completed),
      });
    `);
    child.all!.on("data", (chunk: Buffer) => {
      const done = Math.max(...[...chunk.toString().matchAll(/done (\d+)/g)].map((m) => Number(m[1])));
      if (done >= 140) child.kill("SIGKILL");
    });
    expect((await child).signal).toBe("SIGKILL");
    const probe = new Probe({ model, layers: [0, 1], batchSize: 4, cacheDir, runtime: local });
    const resumed = await probe.warmup(prompts);
    expect(resumed.cached % 64).toBe(0); // whole chunks only
    expect(resumed.cached).toBeGreaterThanOrEqual(128);
    expect(resumed.cached).toBeLessThan(240);
    // What Ray committed reads back as what the local worker computes for the same prompts.
    const uncached = new Probe({ model, layers: [0, 1], batchSize: 4, cacheDir: null, runtime: local });
    await Promise.all([
      probe.fit(
        prompts,
        prompts.map((_, i) => i % 2),
      ),
      uncached.fit(
        prompts,
        prompts.map((_, i) => i % 2),
      ),
    ]);
    expect(await probe.predictProba(prompts)).toEqual(await uncached.predictProba(prompts));
  }, 300_000);

  // Last: it kills this file's cluster (stop() is idempotent, so afterAll's call is then a no-op).
  // Through `address: "auto"` (Ray resolves it from RAY_ADDRESS): the worker learns the GCS address
  // from Ray to see the head is gone, as it does for a HOST:PORT it was given.
  it("fails with RayClusterError when the cluster is lost mid-request", async () => {
    await using lost = new PythonRuntime({
      ray: { address: "auto", workers: 2 },
      env: { RAY_ADDRESS: cluster!.address },
    });
    const many = Array.from({ length: 2000 }, (_, i) => `prompt number ${i}`);
    let stopping: Promise<void> | undefined;
    const err = await lost
      .call(
        "extract",
        { ...body("mean"), prompts: many, batch_size: 1 },
        // As soon as the actors are up (the model is loaded on them), the whole cluster is killed.
        { onProgress: (e) => void (e.type === "model" && e.phase === "loaded" && (stopping ??= cluster!.crash())) },
      )
      .catch((e: unknown) => e);
    await stopping;
    expect(err).toBeInstanceOf(RayClusterError);
    expect((err as RayClusterError).address).toBe("auto");
    expect((err as Error).message).toContain("lost the Ray cluster at auto"); // seen at once, not after timeouts
  }, 300_000);
});

describe.skipIf(rayMissing !== undefined)("a Ray cluster that is not there", () => {
  it("fails the extraction with RayClusterError naming the address", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const a = s.address();
        s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
      });
    });
    await using runtime = new PythonRuntime({ ray: { address: `127.0.0.1:${port}`, workers: 1 } });
    const err = await runtime.call("extract", body("mean")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RayClusterError);
    expect((err as RayClusterError).code).toBe("RAY_CLUSTER");
    expect((err as RayClusterError).address).toBe(`127.0.0.1:${port}`);
    expect((err as Error).message).toContain(`cannot reach the Ray cluster at 127.0.0.1:${port}`);
  }, 120_000);
});
