/**
 * Security: the worker's environment and working directory are attacker-controlled input.
 * - Modules lying in the caller's working directory or on PYTHONPATH are never imported by the worker.
 * - An inherited LMPROBE_WORKER_ENDPOINT that is not a private ipc:// socket is refused (TS before
 *   Python starts, and the worker itself when started directly).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { PythonRuntime, WorkerStartError } from "../../src/index.js";
import { ensurePythonEnv } from "../../src/env/python-env.js";
import { workerArgs } from "../../src/worker/worker-process.js";

const DIST = new URL("../../dist/index.js", import.meta.url).href;

/** A folder of hostile modules, each writing a marker file when imported. */
function hostileFolder(): { folder: string; marker: string } {
  const folder = mkdtempSync(join(tmpdir(), "hostile-cwd-"));
  const marker = join(folder, "imported");
  for (const name of ["msgpack", "torch", "zmq", "numpy", "json", "sitecustomize", "lmprobe_worker"]) {
    const code = `open(${JSON.stringify(marker)}, "a").write(${JSON.stringify(name)} + "\\n")\n`;
    if (name === "lmprobe_worker") {
      mkdirSync(join(folder, name));
      writeFileSync(join(folder, name, "__init__.py"), code);
      writeFileSync(join(folder, name, "__main__.py"), code);
    } else writeFileSync(join(folder, `${name}.py`), code);
  }
  return { folder, marker };
}

describe("worker isolation", () => {
  it("modules in the working directory and on PYTHONPATH are not imported", async () => {
    const { folder, marker } = hostileFolder();
    const script = `
      import { PythonRuntime } from ${JSON.stringify(DIST)};
      const rt = new PythonRuntime();
      const info = await rt.ready();
      console.log(JSON.stringify({ pid: info.pid }));
      await rt.close();
    `;
    const result = await execa("node", ["--input-type=module", "-e", script], {
      cwd: folder,
      env: { PYTHONPATH: folder },
      reject: false,
      timeout: 240_000,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").pop()!).pid).toBeGreaterThan(0);
    expect(existsSync(marker)).toBe(false);
  });

  it("an inherited tcp:// LMPROBE_WORKER_ENDPOINT is refused before Python starts", async () => {
    const runtime = new PythonRuntime({ env: { LMPROBE_WORKER_ENDPOINT: "tcp://127.0.0.1:5555" } });
    const err = await runtime.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerStartError);
    expect((err as Error).message).toMatch(/LMPROBE_WORKER_ENDPOINT.*refused.*CURVE/s);
    await runtime.close();
  });

  it.each([
    ["tcp://127.0.0.1:0", /only ipc:\/\/ endpoints/],
    ["ipc:///tmp/lmprobe-shared-socket", /must belong to this user and be private/],
  ])("the worker itself refuses LMPROBE_WORKER_ENDPOINT=%s", async (endpoint, message) => {
    const { python } = await ensurePythonEnv();
    const result = await execa(python, workerArgs(), {
      env: { LMPROBE_WORKER_ENDPOINT: endpoint },
      reject: false,
      timeout: 120_000,
      input: "",
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toContain("listening");
  });
});
