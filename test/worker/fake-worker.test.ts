/**
 * The worker client against fake workers (test/worker/fake_worker.py: pyzmq + msgpack, no torch)
 * that crash, stall, lie about their protocol, send garbage, ignore cancel or die mid-call. The
 * runtime, the process handling and the ZeroMQ transport are the real ones; only the Python side
 * is a stand-in, so each failure path runs in well under a second of worker start-up.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  AbortError,
  ProtocolError,
  PythonRuntime,
  TimeoutError,
  WorkerExitedError,
  WorkerStartError,
  type PythonRuntimeOptions,
} from "../../src/index.js";

const FAKE = join(import.meta.dirname, "fake_worker.py");
const runtimes: PythonRuntime[] = [];

/** A runtime on the fake worker playing `scenario`; `pids()` lists every process it started. */
function fake(scenario: string, options: PythonRuntimeOptions = {}): { runtime: PythonRuntime; pids: () => number[] } {
  const pidFile = join(mkdtempSync(join(tmpdir(), "lmprobe-fake-pids-")), "pids");
  const runtime = new PythonRuntime({
    pythonPath: inject("python"),
    workerArgs: ["-I", "-u", FAKE, scenario], // isolated and unbuffered, as the real worker
    ...options,
    env: { FAKE_PID_FILE: pidFile, ...options.env },
  });
  runtimes.push(runtime);
  const pids = () => {
    try {
      return readFileSync(pidFile, "utf8").trim().split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  return { runtime, pids };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until `pid` is gone; resolves false if it still runs after `limitMs`. */
async function gone(pid: number, limitMs = 15_000): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < limitMs; await new Promise((r) => setTimeout(r, 50))) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

describe("fake workers through the real PythonRuntime", () => {
  it("a worker that crashes on start gives WorkerStartError with its stderr tail", async () => {
    const { runtime } = fake("crash");
    const err = await runtime.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerStartError);
    expect((err as WorkerStartError).code).toBe("WORKER_START");
    expect((err as WorkerStartError).message).toMatch(/exited during start-up \(exit code 3\)/);
    expect((err as WorkerStartError).stderrTail).toContain("no module named 'torch' (simulated)");
  });

  it("a hello slower than startTimeoutMs gives TimeoutError and the process is killed", async () => {
    const { runtime, pids } = fake("slow-hello", { startTimeoutMs: 1500 });
    const err = await runtime.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(1500);
    expect(pids()).toHaveLength(1);
    expect(await gone(pids()[0]!)).toBe(true);
  });

  it("a worker speaking another protocol version gives ProtocolError naming both versions", async () => {
    const { runtime, pids } = fake("wrong-version");
    const err = await runtime.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe("PROTOCOL");
    expect((err as ProtocolError).message).toMatch(/protocol 999, this SDK speaks 1/);
    expect(await gone(pids()[0]!)).toBe(true);
  });

  // Failed on main before errorFromWire landed: the raw msgpackr error escaped `request`.
  it("garbage frames in a reply give ProtocolError, not a raw msgpackr error", async () => {
    const { runtime } = fake("garbage");
    await runtime.ready();
    const err = await runtime.request("echo", { x: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe("PROTOCOL");
  });

  // Before the fix in rpc-client.ts the reply was dropped as "late" and the call waited forever.
  it("a reply header that is msgpack but not a header gives ProtocolError instead of a hang", async () => {
    const { runtime } = fake("garbage-header");
    await runtime.ready();
    const hang = new Promise((resolve) => setTimeout(resolve, 10_000, "still pending after 10 s").unref());
    const err = await Promise.race([runtime.request("echo", { x: 1 }).catch((e: unknown) => e), hang]);
    expect(err).toBeInstanceOf(ProtocolError);
  });

  it("a worker that ignores cancel is killed after cancelGraceMs; the call rejects with AbortError", async () => {
    const { runtime, pids } = fake("ignore-cancel", { cancelGraceMs: 300 });
    const first = (await runtime.ready()).pid;
    const controller = new AbortController();
    const call = runtime.request("sleep", {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toBeInstanceOf(AbortError);
    expect(await gone(first)).toBe(true);
    // The next call transparently gets a fresh worker.
    const reply = await runtime.request("echo", { again: true });
    expect(reply).toMatchObject({ again: true });
    expect(reply.pid).not.toBe(first);
    expect(pids()).toEqual([first, reply.pid]);
  });

  it("a worker dying mid-call gives WorkerExitedError; the next call starts a fresh worker", async () => {
    const { runtime, pids } = fake("die-mid-call");
    const first = (await runtime.ready()).pid;
    const err = await runtime.request("die", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerExitedError);
    expect((err as WorkerExitedError).exitCode).toBe(7);
    expect((err as WorkerExitedError).stderrTail).toContain("segmentation fault in the middle of a call (simulated)");
    const reply = await runtime.request("echo", { n: 2 });
    expect(reply).toMatchObject({ n: 2 });
    expect(reply.pid).not.toBe(first);
    expect(pids()).toEqual([first, reply.pid]);
  });
});
