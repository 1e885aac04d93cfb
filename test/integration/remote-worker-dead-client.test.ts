/**
 * A served worker (`lmprobe worker serve`, loopback TCP + CURVE) outlives its clients, so a client
 * killed -9 mid-call never sends `cancel`: the worker must notice (socket monitor, keepalive probes,
 * failed sends: python_worker/lmprobe_worker/client_watch.py, the daemon's mechanism) and cancel
 * that client's running and queued work, or every other client waits behind it. Real CLI, real
 * worker, a real child Node process as the victim; the served worker and the victim are killed by
 * pid in afterAll even when a test failed. Waits are hang guards, never timing assertions.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime } from "../../src/index.js";
import { freshDir, runNode } from "../helpers/cache.js";
import { CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";
import { serveWorker, type ServedWorker } from "../helpers/served-worker.js";

const models = inject("tinyModels");
const GUARD_MS = 60_000;
let served: ServedWorker | undefined;
let victimPid: number | undefined;
const runtimes: PythonRuntime[] = [];

function client(): PythonRuntime {
  const runtime = new PythonRuntime({
    connect: { endpoint: served!.endpoint, serverPublicKey: served!.serverPublicKey },
  });
  runtimes.push(runtime);
  return runtime;
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await check()); waited += 100) {
    if (waited > GUARD_MS) throw new Error(`gave up waiting for ${what}:\n${served?.output() ?? ""}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  served = await serveWorker(["--keys", `${freshDir("lmprobe-served-dead-")}/keys`]);
});

afterAll(async () => {
  try {
    await Promise.allSettled(runtimes.map((r) => r.close()));
  } finally {
    if (victimPid !== undefined) {
      try {
        process.kill(victimPid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    served?.kill();
  }
});

describe("a served worker and a client killed -9 mid-call", () => {
  it("cancels the dead client's running and queued work and keeps serving another client", async () => {
    const observer = client();
    const status = async () => (await observer.request("status", {})) as Record<string, unknown>;
    expect((await status()).pid).toBe(served!.pid); // a served worker answers `status` too
    // The victim: one long extraction (one prompt a batch) and a second call queued behind it.
    const victim = runNode(
      `
      const rt = new SDK.PythonRuntime();
      const probe = (layers) => new SDK.Probe({ model: ${JSON.stringify(models.gpt2.path)}, layers, runtime: rt });
      const prompts = (tag) => Array.from({ length: 20000 }, (_, i) => "Victim " + tag + " prompt " + i + ".");
      const first = probe(0).warmup(prompts("a"), {
        batchSize: 1, onProgress: (e) => e.type === "extract" && console.log("EXTRACTING"),
      });
      // Other layers: not coalesced with the first, so it waits in the worker's queue.
      const queued = probe(1).warmup(prompts("b"), { batchSize: 1 });
      await Promise.all([first, queued]);
      console.log("FINISHED");`,
      {
        ...process.env,
        LMPROBE_CACHE_DIR: freshDir(),
        LMPROBE_WORKER_CONNECT: served!.endpoint,
        LMPROBE_WORKER_SERVER_KEY: served!.serverPublicKey,
      } as Record<string, string>,
    );
    victimPid = victim.pid;
    let output = "";
    victim.all!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await until("the victim's extraction", () => output.includes("EXTRACTING"));
    // The queued call reaches the worker a moment after the first one starts extracting.
    await until("both victim calls in the worker (running + queued)", async () => {
      return Number((await status()).requests_in_flight) >= 2;
    });
    victim.kill("SIGKILL");
    const killed = await victim;
    expect(killed.all).not.toContain("FINISHED");
    // Control requests (`status`) are not counted: 0 means the victim's work is all cancelled.
    await until("the served worker to cancel the dead client's work", async () => {
      return Number((await status()).requests_in_flight) === 0;
    });
    // The log line comes over the worker's stderr pipe, which the status reply can overtake.
    const cancelled = /a client disconnected with [2-9]\d* request\(s\) in flight: cancelled/;
    await until("the served worker's log of the cancelled work", () => cancelled.test(served!.output()));
    // Another client is served, and the worker is the same process.
    const other = client();
    const probe = new Probe({ model: models.llama.path, layers: 1, runtime: other, randomState: 0, cacheDir: null });
    await probe.fit(CATS, DOGS);
    expect(await probe.predict(TEST_PROMPTS)).toHaveLength(TEST_PROMPTS.length);
    expect(await other.pid()).toBe(served!.pid);
  });
});
