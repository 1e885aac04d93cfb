/** The worker process: crashes, cancellation, closing, foreign interpreters, and Node exiting on its own. */
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, inject, it } from "vitest";
import { execa } from "execa";
import { AbortError, Probe, PythonEnvError, PythonRuntime, WorkerExitedError } from "../../src/index.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const python = inject("python");
const many = Array.from({ length: 400 }, (_, i) => `${i % 2 ? CATS[i % 10] : DOGS[i % 10]} Number ${i}.`);

describe("a worker that dies mid-call", () => {
  const runtime = new PythonRuntime();
  afterAll(() => runtime.close());

  it("rejects the call with WorkerExitedError and serves the next call from a fresh worker", async () => {
    const probe = new Probe({ model: models.llama.path, layers: 0, batchSize: 1, runtime });
    let killedPid: number | undefined;
    const call = probe.fit(
      many,
      many.map((_, i) => i % 2),
      {
        onProgress: (e) => {
          if (e.type === "extract" && killedPid === undefined) {
            void runtime.pid().then((pid) => {
              killedPid = pid;
              process.kill(pid!, "SIGKILL");
            });
          }
        },
      },
    );
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkerExitedError);
    expect((err as WorkerExitedError).signal).toBe("SIGKILL");
    await probe.fit(CATS, DOGS);
    expect(await runtime.pid()).not.toBe(killedPid);
    expect(await probe.predict(["The cat."])).toHaveLength(1);
  });
});

describe("cancellation and closing", () => {
  it("aborts a long extraction with AbortError and keeps the worker usable", async () => {
    await using runtime = new PythonRuntime();
    const probe = new Probe({ model: models.gpt2.path, layers: 0, batchSize: 1, runtime });
    await probe.fit(CATS, DOGS);
    const pid = await runtime.pid();
    const controller = new AbortController();
    const call = probe.predict(many, {
      signal: controller.signal,
      onProgress: (e) => e.type === "extract" && controller.abort(new Error("enough")),
    });
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toEqual(new Error("enough"));
    expect(await probe.predict(["The dog."])).toHaveLength(1);
    expect(await runtime.pid()).toBe(pid); // the worker honoured the cancel between batches
  });

  it("rejects an already-aborted signal before sending anything", async () => {
    const probe = new Probe({ model: models.gpt2.path, layers: 0 });
    const err = await probe.fit(CATS, DOGS, { signal: AbortSignal.abort() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AbortError);
    await probe.close();
  });

  it("fails in-flight calls when the probe is closed, and close is idempotent", async () => {
    const probe = new Probe({ model: models.gpt2.path, layers: 0, batchSize: 1 });
    const call = probe.fit(
      many,
      many.map((_, i) => i % 2),
      { onProgress: (e) => e.type === "extract" && void probe.close() },
    );
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkerExitedError);
    await probe.close();
    await probe.close();
  });
});

describe("LMPROBE_PYTHON", () => {
  it("names the packages an interpreter lacks", async () => {
    const bare = execFileSync("python3", ["-c", "import sys; print(sys.executable)"]).toString().trim();
    const runtime = new PythonRuntime({ pythonPath: bare });
    const err = await runtime.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PythonEnvError);
    expect((err as PythonEnvError).missing).toContain("torch");
    expect((err as PythonEnvError).message).toContain("pip install -r");
  });

  it("rejects an interpreter that does not exist", async () => {
    const err = await new PythonRuntime({ pythonPath: "/nonexistent/python3" }).ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PythonEnvError);
    expect((err as Error).message).toContain("does not exist");
  });

  it("uses a complete interpreter as is", async () => {
    await using runtime = new PythonRuntime({ pythonPath: python });
    expect((await runtime.ready()).executable).toContain("python");
  });
});

describe("the Node process", () => {
  it("exits by itself after fit, predict and close (nothing keeps the event loop alive)", async () => {
    const script = `
      import { Probe } from ${JSON.stringify(new URL("../../dist/bundle/index.js", import.meta.url).href)};
      const probe = new Probe({ model: ${JSON.stringify(models.gpt2.path)}, layers: 0, randomState: 0 });
      await probe.fit(${JSON.stringify(CATS)}, ${JSON.stringify(DOGS)});
      console.log(JSON.stringify(await probe.predict(["The cat."])));
      await probe.close();
      console.log("DONE");
    `;
    // No wall-clock bar (it would depend on the machine's load): a handle left open keeps the
    // process alive until execa kills it, which fails the test through timedOut/isTerminated.
    const result = await execa("node", ["--input-type=module", "-e", script], { timeout: 100_000, reject: false });
    expect(result.timedOut).toBe(false);
    expect(result.isTerminated).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^\[[01]\]\nDONE$/);
  });
});
