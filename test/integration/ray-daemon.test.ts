/**
 * A Ray-backed long-lived worker (issue 17, `lmprobe worker start --ray` / `worker serve --ray`)
 * through the real thing: the built CLI, a real local Ray cluster (loopback, 2 CPUs, stopped by
 * pid), the real daemon in a private LMPROBE_DAEMON_DIR (stopped by `worker stop`, then by pid,
 * even when a test failed). A runtime that names no cluster attaches to the Ray daemon and gets a
 * local worker's activations bit for bit; one that names another cluster gets its own worker.
 * Skipped, saying why, only when Ray cannot be installed.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PythonRuntime, ensurePythonEnv } from "../../src/index.js";
import { ensureRay } from "../../src/env/ray-env.js";
import type { Tensor } from "../../src/protocol/codec.js";
import type { Request } from "../../src/protocol/messages.js";
import { readDiscovery } from "../../src/worker/daemon-discovery.js";
import { pidAlive } from "../../src/worker/pid-alive.js";
import { freshDir } from "../helpers/cache.js";
import { CATS, DOGS } from "../helpers/prompts.js";
import { startRayCluster, type RayCluster } from "../helpers/ray-cluster.js";
import { serveWorker, type ServedWorker } from "../helpers/served-worker.js";

const model = inject("tinyModels").llama.path;
const pyEnv = await ensurePythonEnv();
const rayMissing = await ensureRay(pyEnv).then(
  () => undefined,
  (err: unknown) => String(err),
);
if (rayMissing) console.warn(`Ray daemon tests skipped: Ray could not be installed (${rayMissing.slice(0, 300)})`);

const cliPath = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const dir = freshDir("lmprobe-ray-daemon-test-"); // mkdtemp: 0700, this user's
const env = { ...process.env, LMPROBE_DAEMON_DIR: dir, LMPROBE_DAEMON: "auto" };
const cli = (...args: string[]) => execa("node", [cliPath, "worker", ...args], { reject: false, env });
const daemonPids = new Set<number>();
const discovered = (): number => {
  const found = readDiscovery(dir);
  if (!found.ok) throw new Error(found.message);
  daemonPids.add(found.info.pid);
  return found.info.pid;
};
/** A tensor's own bytes (its data may be a view into a larger message frame). */
const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
// 20 prompts in batches of 4: 5 batches, 4 shards over the 2 actors (as in ray.test.ts).
const body: Request<"extract"> = {
  model,
  prompts: [...CATS, ...DOGS],
  layers: [0, 1],
  pooling: "mean",
  batch_size: 4,
  dtype: "float32",
  device: "cpu",
  group_by_length: false,
};

describe.skipIf(rayMissing !== undefined)("lmprobe worker start --ray (a Ray-backed daemon)", () => {
  let cluster: RayCluster | undefined;
  let served: ServedWorker | undefined;
  const runtimes: PythonRuntime[] = [];
  const runtime = (options: ConstructorParameters<typeof PythonRuntime>[0]) => {
    const r = new PythonRuntime(options);
    runtimes.push(r);
    return r;
  };
  const saved = process.env.LMPROBE_DAEMON_DIR;
  beforeAll(async () => {
    process.env.LMPROBE_DAEMON_DIR = dir; // runtimes of this file with daemon: "auto" look here only
    cluster = await startRayCluster(pyEnv.python);
  }, 180_000);
  afterAll(async () => {
    try {
      await Promise.allSettled(runtimes.map((r) => r.close()));
      served?.kill();
      await cli("stop");
      for (const pid of daemonPids) if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    } finally {
      await cluster?.stop(); // even when a test failed
      if (saved === undefined) delete process.env.LMPROBE_DAEMON_DIR;
      else process.env.LMPROBE_DAEMON_DIR = saved;
    }
  }, 120_000);

  it("starts with the cluster recorded; a runtime without ray attaches and gets a local worker's numbers", async () => {
    const address = cluster!.address;
    const started = await cli("start", "--ray", address, "--ray-workers", "2", "--idle-timeout", "10m");
    expect(started.exitCode, started.stderr).toBe(0);
    const pid = discovered();
    expect(started.stdout).toContain(`started: pid ${pid}`);
    expect(started.stdout).toContain(`Ray: ${address}, 2 actors`);
    const ray = { address, workers: 2, resources: {}, threads: null };
    expect(readDiscovery(dir)).toMatchObject({ ok: true, info: { pid, ray } });
    const status = JSON.parse((await cli("status", "--json")).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ running: true, pid, ray });
    expect((await cli("status")).stdout).toContain(`ray: ${address}, 2 actors`);

    // A script that knows nothing of Ray: the daemon is its worker, and the daemon shards over 2 actors.
    const plain = runtime({ daemon: "auto" });
    const info = await plain.ready();
    expect(info.pid).toBe(pid);
    expect(info.ray).toEqual(ray);
    expect(plain.rayWorkers).toBe(2); // from the daemon's hello: the chunk sizes follow it
    const local = runtime({ daemon: "off" });
    const [viaDaemon, direct] = await Promise.all([plain.call("extract", body), local.call("extract", body)]);
    expect(await local.pid()).not.toBe(pid);
    expect((viaDaemon as unknown as { ray: { actors: number; shards: number } }).ray).toMatchObject({
      actors: 2,
      shards: 4,
    });
    expect(viaDaemon.activations.dtype).toBe(direct.activations.dtype);
    expect(viaDaemon.activations.shape).toEqual(direct.activations.shape);
    expect(bytes(viaDaemon.activations)).toEqual(bytes(direct.activations));
    expect(bytes(viaDaemon.lengths)).toEqual(bytes(direct.lengths));
    await local.close();
  }, 300_000);

  it("a runtime naming the same cluster attaches; another cluster or actor count gets its own worker", async () => {
    const pid = discovered();
    const address = cluster!.address;
    const same = runtime({ daemon: "auto", ray: { address, workers: 2 } });
    expect((await same.ready()).pid).toBe(pid);
    // Their own child workers join no cluster until they extract: the handshake alone shows the choice.
    for (const ray of [
      { address: "127.0.0.1:1", workers: 2 },
      { address, workers: 1 },
    ]) {
      const other = runtime({ daemon: "auto", ray }); // allowed a daemon, but not this one
      const info = await other.ready();
      expect(info.pid).not.toBe(pid);
      expect(info.ray).toEqual({ ...ray, resources: {}, threads: null });
      await other.close();
    }
  }, 300_000);

  it("refuses a bad --ray (exit 2, naming it) before anything starts, and a start on another cluster", async () => {
    const elsewhere = join(freshDir("lmprobe-ray-daemon-bad-"), "daemon");
    const bad = await execa("node", [cliPath, "worker", "--ray", "http://head", "--ray-workers", "2"], {
      reject: false,
      env: { ...env, LMPROBE_DAEMON_DIR: elsewhere },
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--ray must be HOST:PORT");
    expect(existsSync(elsewhere)).toBe(false); // no daemon folder: nothing was started
    const other = await cli("start", "--ray", "127.0.0.1:1");
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain(`already runs with Ray ${cluster!.address}, 2 actors`);
  }, 120_000);

  it("worker serve --ray: the announcement and a connect runtime's handshake name the cluster", async () => {
    const address = cluster!.address;
    const keys = join(freshDir("lmprobe-ray-serve-"), "keys");
    served = await serveWorker(["--keys", keys, "--ray", address, "--ray-workers", "2"], env);
    // The helper returns at the key line; the rest of the announcement follows (hang guard: 60 s).
    const line = `sharded over the Ray cluster ${address}, 2 actors`;
    for (let waited = 0; !served.output().includes(line) && waited < 60_000; waited += 100) await sleep(100);
    expect(served.output()).toContain(line);
    const client = runtime({ connect: { endpoint: served.endpoint, serverPublicKey: served.serverPublicKey } });
    const info = await client.ready();
    expect(info.pid).toBe(served.pid);
    expect(info.ray).toEqual({ address, workers: 2, resources: {}, threads: null });
    expect(client.rayWorkers).toBe(2);
  }, 300_000);
});
