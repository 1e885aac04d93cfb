/**
 * The `ray` option of PythonRuntime (and LMPROBE_RAY_ADDRESS) is checked before Python starts:
 * bad values throw InvalidOptionError naming the field, good ones become the worker's LMPROBE_RAY_*
 * variables. No Python: the constructor throws, and no worker is ever spawned.
 */
import { describe, expect, it } from "vitest";
import { InvalidOptionError, PythonRuntime, type RayOptions } from "../../src/index.js";
import { rayWorkerEnv } from "../../src/worker/ray-options.js";

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
  });
});
