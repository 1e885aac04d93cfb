/**
 * The wire contract: TypeScript and the worker agree on the protocol version, the RPC names, the
 * error codes a worker may send, the built-in classifiers and the custom-estimator allow-list. Runs the real
 * `python -m lmprobe_worker.contract` with the managed interpreter (isolated, the worker's own
 * package folder first on sys.path, as the SDK starts the worker); it imports no torch.
 */
import { execa } from "execa";
import { describe, expect, inject, it } from "vitest";
import { SAFE_ESTIMATOR_MODULES } from "../../src/config/estimator-policy.js";
import { WORKER_PYTHONPATH } from "../../src/env/paths.js";
import { BUILTIN_CLASSIFIERS } from "../../src/protocol/classifiers.js";
import { WORKER_ERROR_CODES } from "../../src/protocol/error-from-wire.js";
import { RPC_NAMES } from "../../src/protocol/messages.js";
import { PROTOCOL_VERSION } from "../../src/protocol/version.js";

interface Contract {
  protocol: number;
  rpcs: string[];
  error_codes: string[];
  classifiers: string[];
  estimator_modules: string[];
}

const sorted = (list: readonly string[]) => [...list].sort();

async function workerContract(): Promise<Contract> {
  const bootstrap =
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); " +
    "runpy.run_module('lmprobe_worker.contract', run_name='__main__')";
  const { stdout } = await execa(inject("python"), ["-I", "-c", bootstrap, WORKER_PYTHONPATH]);
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Contract;
}

describe("TypeScript and the worker speak the same protocol", () => {
  const contract = workerContract();

  it("protocol version", async () => {
    expect((await contract).protocol).toBe(PROTOCOL_VERSION);
  });

  it("RPC names: the typed RPC map covers every handler, and nothing else", async () => {
    expect(sorted((await contract).rpcs)).toEqual(sorted(RPC_NAMES));
  });

  it("error codes: every code a worker may send is mapped in TypeScript", async () => {
    expect(sorted((await contract).error_codes)).toEqual(sorted(WORKER_ERROR_CODES));
  });

  it("built-in classifiers: the one TypeScript list (config's CLASSIFIERS) is the worker's BUILTIN", async () => {
    expect(sorted((await contract).classifiers)).toEqual(sorted(BUILTIN_CLASSIFIERS));
  });

  it("custom-estimator modules: both sides apply the same security allow-list", async () => {
    expect(sorted((await contract).estimator_modules)).toEqual(sorted(SAFE_ESTIMATOR_MODULES));
  });
});
