/**
 * Socket folders (issue 11 item 11b): every start/close cycle of a real worker removes its
 * `lmprobe-XXXX/w.sock` folder, from both sides (the worker on stdin EOF, TypeScript once the
 * process has exited). The worker makes its folder under TMPDIR, pointed here at a private folder
 * so other processes on the machine cannot disturb the count.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PythonRuntime } from "../../src/index.js";
import { freshDir } from "../helpers/cache.js";

describe("socket folders", () => {
  it("5 start/close cycles leave no lmprobe-* folder behind", async () => {
    const tmp = freshDir("lmprobe-sockets-");
    for (let cycle = 0; cycle < 5; cycle++) {
      const runtime = new PythonRuntime({ env: { TMPDIR: tmp } });
      await runtime.ready();
      expect(readdirSync(tmp).filter((f) => f.startsWith("lmprobe-"))).toHaveLength(1); // the live worker's
      await runtime.close();
    }
    expect(readdirSync(tmp).filter((f) => f.startsWith("lmprobe-"))).toEqual([]); // torch may add its own folders
  }, 600_000); // five cold starts of torch on a busy 2-core machine

  it("a worker killed with SIGKILL leaves no folder either (TypeScript removes it)", async () => {
    const tmp = freshDir("lmprobe-sockets-");
    const runtime = new PythonRuntime({ env: { TMPDIR: tmp } });
    const { pid } = await runtime.ready();
    process.kill(pid, "SIGKILL");
    await runtime.close();
    expect(readdirSync(tmp).filter((f) => f.startsWith("lmprobe-"))).toEqual([]); // torch may add its own folders
  });
});
