/**
 * The `ray` option of PythonRuntime (and LMPROBE_RAY_ADDRESS, and `lmprobe worker start|serve --ray`)
 * is checked before Python starts: bad values throw InvalidOptionError naming the field, good ones
 * become the worker's LMPROBE_RAY_* variables; and which daemon a runtime may use by its cluster.
 * No Python: the constructor or command throws, and no worker is ever spawned.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { workerCommand } from "../../src/cli/worker-command.js";
import { InvalidOptionError, PythonRuntime, type RayOptions } from "../../src/index.js";
import { rayFlagsEnv, rayWorkerEnv } from "../../src/worker/ray-options.js";
import { raySettingsFromWire, raySettingsOf, sameRay, withRayEnv } from "../../src/worker/ray-settings.js";

const refused = (make: () => unknown): InvalidOptionError => {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error("expected an InvalidOptionError");
};

describe("PythonRuntime({ ray })", () => {
  it.each([
    [{ address: "not an address" }, "ray.address", "HOST:PORT"],
    [{ address: "10.0.0.1:0" }, "ray.address", "HOST:PORT"],
    [{ address: "head:6379", workers: 0 }, "ray.workers", "integer from 1"],
    [{ address: "head:6379", workers: 1.5 }, "ray.workers", "integer from 1"],
    [{ address: "head:6379", resourcesPerWorker: { CPU: -1 } }, "ray.resourcesPerWorker", "numbers ≥ 0"],
    [{ address: "head:6379", resourcesPerWorker: { GPU: Number.NaN } }, "ray.resourcesPerWorker", "numbers ≥ 0"],
    [{ address: "head:6379", threadsPerWorker: 0 }, "ray.threadsPerWorker", "integer from 1 to 1024"],
    [{ address: "head:6379", worker: 2 }, "ray", "unknown: worker"],
  ])("refuses %o naming %s", (ray, option, fix) => {
    const err = refused(() => new PythonRuntime({ ray: ray as unknown as RayOptions }));
    expect(err.option).toBe(option);
    expect(err.message).toContain(fix);
  });

  it("refuses a malformed LMPROBE_RAY_ADDRESS / LMPROBE_RAY_WORKERS, naming the variable", () => {
    expect(refused(() => new PythonRuntime({ env: { LMPROBE_RAY_ADDRESS: "http://x" } })).option).toBe(
      "LMPROBE_RAY_ADDRESS",
    );
    const workers = refused(
      () => new PythonRuntime({ env: { LMPROBE_RAY_ADDRESS: "x:1", LMPROBE_RAY_WORKERS: "two" } }),
    );
    expect(workers.option).toBe("LMPROBE_RAY_WORKERS");
  });

  it("refuses ray together with a served worker (that worker reads its own environment)", () => {
    const connect = { endpoint: "tcp://127.0.0.1:5555", serverPublicKey: "0".repeat(40) };
    expect(refused(() => rayWorkerEnv({ address: "auto" }, {}, true)).option).toBe("ray");
    expect(refused(() => new PythonRuntime({ connect, ray: { address: "auto" } })).option).toBe("ray");
  });

  it("turns a good option into the worker's variables, the option winning over the environment", () => {
    const env = { LMPROBE_RAY_ADDRESS: "other:1" };
    expect(rayWorkerEnv({ address: "ray://head:10001", workers: 4, resourcesPerWorker: { GPU: 1 } }, env)).toEqual({
      LMPROBE_RAY_ADDRESS: "ray://head:10001",
      LMPROBE_RAY_WORKERS: "4",
      LMPROBE_RAY_RESOURCES: '{"GPU":1}',
    });
    expect(rayWorkerEnv(undefined, { LMPROBE_RAY_ADDRESS: "auto", LMPROBE_RAY_WORKERS: "2" })).toEqual({
      LMPROBE_RAY_ADDRESS: "auto",
      LMPROBE_RAY_WORKERS: "2",
    });
    expect(rayWorkerEnv(undefined, {})).toBeUndefined();
    expect(rayWorkerEnv({ address: "auto", threadsPerWorker: 2 }, {})).toEqual({
      LMPROBE_RAY_ADDRESS: "auto",
      LMPROBE_RAY_TORCH_THREADS: "2",
    });
    const threads = { LMPROBE_RAY_ADDRESS: "auto", LMPROBE_RAY_TORCH_THREADS: "many" };
    expect(refused(() => rayWorkerEnv(undefined, threads)).option).toBe("LMPROBE_RAY_TORCH_THREADS");
  });
});

describe("the Ray flags of lmprobe worker start|serve (--ray, --ray-workers, --ray-threads)", () => {
  it("checks them with the same schema, naming the flag the user wrote", () => {
    expect(refused(() => rayFlagsEnv({ ray: "nope" }, {})).option).toBe("--ray");
    expect(refused(() => rayFlagsEnv({ ray: "nope" }, {})).message).toContain("--ray must be HOST:PORT");
    expect(refused(() => rayFlagsEnv({ ray: "head:6379", rayWorkers: "two" }, {})).option).toBe("--ray-workers");
    expect(refused(() => rayFlagsEnv({ ray: "head:6379", rayWorkers: "0" }, {})).message).toContain("integer from 1");
    expect(refused(() => rayFlagsEnv({ rayWorkers: "2" }, {})).message).toContain("--ray-workers needs --ray");
    expect(refused(() => rayFlagsEnv({ rayThreads: "2" }, {})).option).toBe("--ray-threads");
    expect(refused(() => rayFlagsEnv({ ray: "head:6379", rayThreads: "0" }, {})).option).toBe("--ray-threads");
    expect(rayFlagsEnv({ ray: "head:6379", rayThreads: "2" }, {})).toEqual({
      LMPROBE_RAY_ADDRESS: "head:6379",
      LMPROBE_RAY_TORCH_THREADS: "2",
    });
    expect(rayFlagsEnv({ ray: "head:6379", rayWorkers: "2" }, { LMPROBE_RAY_ADDRESS: "other:1" })).toEqual({
      LMPROBE_RAY_ADDRESS: "head:6379",
      LMPROBE_RAY_WORKERS: "2",
    });
  });

  it("without --ray, takes this shell's LMPROBE_RAY_* (resources included), checked the same way", () => {
    const env = { LMPROBE_RAY_ADDRESS: "auto", LMPROBE_RAY_RESOURCES: '{"CPU":2}' };
    expect(rayFlagsEnv({}, env)).toEqual({ LMPROBE_RAY_ADDRESS: "auto", LMPROBE_RAY_RESOURCES: '{"CPU":2}' });
    expect(rayFlagsEnv({}, {})).toBeUndefined();
    expect(refused(() => rayFlagsEnv({}, { ...env, LMPROBE_RAY_RESOURCES: "{CPU:2" })).option).toBe(
      "LMPROBE_RAY_RESOURCES",
    );
    expect(refused(() => rayFlagsEnv({}, { ...env, LMPROBE_RAY_RESOURCES: '{"CPU":-1}' })).option).toBe(
      "LMPROBE_RAY_RESOURCES",
    );
  });

  it("a bad --ray fails `lmprobe worker start` before anything starts (no daemon folder, no Python)", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "lmprobe-ray-flags-")), "daemon");
    const saved = process.env.LMPROBE_DAEMON_DIR;
    process.env.LMPROBE_DAEMON_DIR = dir;
    try {
      for (const args of [
        ["start", "--ray", "http://head"],
        ["--ray", "http://head"], // `lmprobe worker --ray ADDRESS`: worker start
        ["start", "--ray", "head:6379", "--ray-workers", "-1"],
      ]) {
        const err = await workerCommand(args, () => undefined).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidOptionError);
        expect((err as InvalidOptionError).option).toMatch(/^--ray(-workers)?$/);
      }
      const status = await workerCommand(["status", "--ray", "head:6379"], () => undefined).catch((e: unknown) => e);
      expect((status as InvalidOptionError).message).toContain("--ray is an option of worker start and worker serve");
      expect(existsSync(dir)).toBe(false); // startDaemon never ran: it makes the folder first
    } finally {
      if (saved === undefined) delete process.env.LMPROBE_DAEMON_DIR;
      else process.env.LMPROBE_DAEMON_DIR = saved;
    }
  });
});

describe("which daemon a runtime may use (ray-settings.ts)", () => {
  const two = raySettingsOf({ LMPROBE_RAY_ADDRESS: "h:1", LMPROBE_RAY_WORKERS: "2" });
  it("reads the variables and a worker's report into one shape", () => {
    expect(two).toEqual({ address: "h:1", workers: 2, resources: {}, threads: null });
    expect(raySettingsOf(undefined)).toBeNull();
    expect(raySettingsFromWire({ address: "h:1", workers: 2, resources: {} })).toEqual(two);
    expect(raySettingsOf({ LMPROBE_RAY_ADDRESS: "h:1", LMPROBE_RAY_TORCH_THREADS: "4" })?.threads).toBe(4);
    expect(raySettingsFromWire(null)).toBeNull();
    expect(raySettingsFromWire({ workers: 2 })).toBeNull();
  });

  it("the same cluster means address, actor count, resources (in any key order) and threads", () => {
    expect(sameRay(two, { address: "h:1", workers: 2, resources: {} })).toBe(true);
    expect(sameRay(two, { address: "h:2", workers: 2, resources: {} })).toBe(false);
    expect(sameRay(two, { address: "h:1", workers: null, resources: {} })).toBe(false);
    expect(sameRay(two, null)).toBe(false);
    expect(sameRay(null, null)).toBe(true);
    const a = { address: "h:1", workers: 1, resources: { CPU: 1, GPU: 0 } };
    expect(sameRay(a, { ...a, resources: { GPU: 0, CPU: 1 } })).toBe(true);
    expect(sameRay(a, { ...a, resources: { CPU: 2, GPU: 0 } })).toBe(false);
    // Threads change the last bits of CPU activations: a daemon with other threads is another worker.
    expect(sameRay({ ...a, threads: 2 }, { ...a, threads: 2 })).toBe(true);
    expect(sameRay({ ...a, threads: 2 }, a)).toBe(false);
  });

  it("a worker's environment drops inherited cluster variables and keeps the checked ones", () => {
    const inherited = { PATH: "/bin", LMPROBE_RAY_ADDRESS: "x:1", LMPROBE_RAY_RESOURCES: "junk" };
    expect(withRayEnv({ ...inherited, LMPROBE_RAY_START_TIMEOUT_S: "5" }, undefined)).toEqual({
      PATH: "/bin",
      LMPROBE_RAY_START_TIMEOUT_S: "5",
    });
    expect(withRayEnv(inherited, { LMPROBE_RAY_ADDRESS: "h:1" })).toEqual({ PATH: "/bin", LMPROBE_RAY_ADDRESS: "h:1" });
  });
});
