/** Options of the nnsight backend and NDIF remote execution: checked in TypeScript, before Python. */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, Probe, PythonRuntime, RemoteError } from "../../src/index.js";
import { parseProbeOptions } from "../../src/config/probe-options.js";
import { remoteJob, remoteRepoId } from "../../src/extraction/remote-settings.js";
import { remoteToWire } from "../../src/protocol/remote.js";

const savedKey = process.env.NDIF_API_KEY;
afterEach(() => {
  if (savedKey === undefined) delete process.env.NDIF_API_KEY;
  else process.env.NDIF_API_KEY = savedKey;
});

function optionError(options: unknown): InvalidOptionError {
  try {
    new Probe(options as never);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error("expected InvalidOptionError");
}

describe("nnsight / remote options", () => {
  it("accepts backend nnsight, remote with nnsight, and maxRetries", () => {
    expect(parseProbeOptions({ model: "/m", backend: "nnsight" })).toMatchObject({ backend: "nnsight", remote: false });
    const o = parseProbeOptions({
      model: "org/model",
      backend: "nnsight",
      remote: { timeoutMs: 5000, pollIntervalMs: 100 },
      maxRetries: 0,
    });
    expect(o.remote).toEqual({ timeoutMs: 5000, pollIntervalMs: 100 });
    expect(o.maxRetries).toBe(0);
  });

  it.each([
    [{ model: "/m", remote: true }, "remote", 'backend: "nnsight"'],
    [{ model: "/m", backend: "local", remote: { timeoutMs: 10 } }, "remote", 'backend: "nnsight"'],
    [{ model: "embedded:smollm2-135m", backend: "nnsight", remote: true }, "remote", "embedded models run locally"],
    [{ model: "/m", backend: "transformers" }, "backend", "backend"],
    [{ model: "/m", backend: "nnsight", maxRetries: -1 }, "maxRetries", "maxRetries"],
    [{ model: "/m", backend: "nnsight", remote: { host: "api.ndif.us" } }, "remote", "http"],
    [{ model: "/m", backend: "nnsight", remote: { timeout: 5 } }, "remote", "timeout"],
  ])("rejects %j naming %s", (options, option, text) => {
    const err = optionError(options);
    expect(err.option).toBe(option);
    expect(err.message).toContain(text);
  });

  it("remote without NDIF_API_KEY fails at construction with REMOTE_AUTH, before any Python", () => {
    delete process.env.NDIF_API_KEY;
    const runtime = new PythonRuntime();
    let err: unknown;
    try {
      new Probe({ model: "org/model", backend: "nnsight", remote: true, runtime });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe("REMOTE_AUTH");
    expect((err as Error).message).toContain("NDIF_API_KEY");
    // a key in the shared runtime's env is enough
    expect(
      () =>
        new Probe({
          model: "org/model",
          backend: "nnsight",
          remote: true,
          runtime: new PythonRuntime({ env: { NDIF_API_KEY: "k" } }),
        }),
    ).not.toThrow();
  });

  it("builds the worker's remote settings without the key", () => {
    process.env.NDIF_API_KEY = "secret-key-never-in-bodies";
    const o = parseProbeOptions({ model: "org/model", backend: "nnsight", remote: { timeoutMs: 1500 }, maxRetries: 2 });
    const model = { name: "org/model", path: "/cache/snap", revision: "a".repeat(40), numLayers: 2, config: {} };
    const body = remoteToWire(remoteJob(o, model, null, { LMPROBE_HOME: "/tmp/h" })!);
    expect(remoteToWire(remoteJob(o, model, "/tmp/cache")!).jobs_file).toBe("/tmp/cache/ndif-jobs.json");
    expect(body).toMatchObject({
      repo_id: "org/model",
      timeout_s: 1.5,
      max_retries: 2,
      jobs_file: "/tmp/h/ndif-jobs.json",
      transfer_dtype: "float16",
    });
    expect(JSON.stringify(body)).not.toContain("secret-key");
    // One place for the defaults: every field is sent, the worker keeps no copy of its own.
    expect(body).toMatchObject({ host: "https://api.ndif.us", poll_s: 2, backoff_s: 1 });
    expect(remoteJob(o, model, null, { NDIF_HOST: "http://127.0.0.1:9" })!.host).toBe("http://127.0.0.1:9");
    expect(remoteRepoId({ name: "/x", path: "/x", numLayers: 1, config: { _name_or_path: "org/name" } })).toBe(
      "org/name",
    );
    expect(remoteRepoId({ name: "/x", path: "/x", numLayers: 1, config: {} })).toBe("/x");
  });
});
