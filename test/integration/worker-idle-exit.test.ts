/**
 * An idle worker does not keep Node alive (issue 11 item 6): a script that never calls `close()`
 * exits by itself after its last statement, its Python worker goes with it, and a call still in
 * flight does keep Node alive until it completes. Real worker, real child Node processes against
 * dist/. The waits are hang guards (a bounded wait for an exit at all), not timing assertions.
 */
import { readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { describe, expect, inject, it } from "vitest";
import { freshDir } from "../helpers/cache.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const DIST = JSON.stringify(new URL("../../dist/index.js", import.meta.url).href);
const GUARD_MS = 60_000;

const processGone = async (pid: number): Promise<boolean> => {
  for (let waited = 0; waited < GUARD_MS; waited += 200) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(200);
  }
  return false;
};

/** Runs `body` in a child Node; after it prints DONE, waits up to GUARD_MS for the child to exit by itself. */
async function runUntilDone(body: string, tmp: string) {
  const script = `import { Probe, PythonRuntime } from ${DIST};\n${body}`;
  const child = execa("node", ["--input-type=module", "-e", script], {
    reject: false,
    all: true,
    env: { TMPDIR: tmp },
  });
  let output = "";
  const done = new Promise<void>((resolve) =>
    child.all!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("DONE")) resolve();
    }),
  );
  const finished = await Promise.race([child.then(() => "exited" as const), done.then(() => "done" as const)]);
  if (finished === "done") {
    const exited = await Promise.race([child.then(() => true), sleep(GUARD_MS).then(() => false)]);
    if (!exited) child.kill("SIGKILL");
    const result = await child;
    return { exitedByItself: exited, result, output };
  }
  return { exitedByItself: true, result: await child, output };
}

describe("Node's event loop and the worker", () => {
  it("exits by itself after fit and predict, and its Python worker is gone", async () => {
    const tmp = freshDir("lmprobe-idle-");
    const { exitedByItself, result, output } = await runUntilDone(
      `
      const probe = new Probe({ model: ${JSON.stringify(models.gpt2.path)}, layers: 0, randomState: 0 });
      await probe.fit(${JSON.stringify(CATS)}, ${JSON.stringify(DOGS)});
      console.log("PRED " + JSON.stringify(await probe.predict(["The cat."])));
      console.log("PID " + (await probe.runtime.pid()));
      console.log("DONE");
    `,
      tmp,
    );
    expect(exitedByItself, `the script did not exit within ${GUARD_MS} ms of its last statement:\n${output}`).toBe(
      true,
    );
    expect(result.exitCode, output).toBe(0);
    expect(output).toMatch(/PRED \[[01]\]/);
    const pid = Number(/PID (\d+)/.exec(output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(await processGone(pid)).toBe(true); // the worker died with its parent
    const socketFolders = () => readdirSync(tmp).filter((f) => f.startsWith("lmprobe-")); // torch adds its own
    for (let waited = 0; waited < GUARD_MS && socketFolders().length > 0; waited += 200) await sleep(200);
    expect(socketFolders()).toEqual([]); // and its socket folder is gone
  }, 300_000);

  it("a shared runtime left open does not hold Node either", async () => {
    const tmp = freshDir("lmprobe-idle-");
    const { exitedByItself, result, output } = await runUntilDone(
      `
      const runtime = await PythonRuntime.start();
      const probe = new Probe({ model: ${JSON.stringify(models.llama.path)}, layers: 1, runtime });
      await probe.fit(${JSON.stringify(CATS)}, ${JSON.stringify(DOGS)});
      console.log("PID " + (await runtime.pid()));
      console.log("DONE");
    `,
      tmp,
    );
    expect(exitedByItself, output).toBe(true);
    expect(result.exitCode, output).toBe(0);
    expect(await processGone(Number(/PID (\d+)/.exec(output)?.[1]))).toBe(true);
  }, 300_000);

  it("close() still holds Node until the worker has exited (the code after it runs)", async () => {
    const tmp = freshDir("lmprobe-idle-");
    const { result, output } = await runUntilDone(
      `
      const probe = new Probe({ model: ${JSON.stringify(models.gpt2.path)}, layers: 0, randomState: 0 });
      await probe.fit(${JSON.stringify(CATS)}, ${JSON.stringify(DOGS)});
      const pid = await probe.runtime.pid();
      await probe.close();
      let alive = true;
      try { process.kill(pid, 0); } catch { alive = false; }
      console.log("CLOSED alive=" + alive + " DONE");
    `,
      tmp,
    );
    expect(result.exitCode, output).toBe(0);
    expect(output).toContain("CLOSED alive=false");
  }, 300_000);

  it("a call in flight keeps Node alive until it completes, even when nothing awaits it", async () => {
    const tmp = freshDir("lmprobe-idle-");
    const { result, output } = await runUntilDone(
      `
      const probe = new Probe({ model: ${JSON.stringify(models.gpt2.path)}, layers: 0, randomState: 0 });
      await probe.fit(${JSON.stringify(CATS)}, ${JSON.stringify(DOGS)});
      // Not awaited: the last statement of the script is this call's start.
      void probe
        .predict(${JSON.stringify([...CATS, ...DOGS])})
        .then((p) => console.log("PREDICTED " + p.length + " DONE"));
    `,
      tmp,
    );
    expect(result.exitCode, output).toBe(0);
    expect(output).toContain("PREDICTED 20");
  }, 300_000);
});
