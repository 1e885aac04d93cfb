/**
 * The install steps as they run, with a stand-in interpreter (a shell script that replays pip's
 * output and logs its arguments) instead of pip: the real pip would need the network this
 * decision is about. What pip does with these command lines is pip's; the plan is tested in
 * torch-index.test.ts.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PythonEnvError } from "../../src/errors.js";
import { installDependencies } from "../../src/env/pip-install.js";
import { chooseTorchIndex } from "../../src/env/torch-index.js";

const OFFLINE_OUTPUT = [
  "WARNING: Retrying (Retry(total=0)) after connection broken by " +
    "'NewConnectionError(\"Failed to establish a new connection:",
  " [Errno -3] Temporary failure in name resolution\")': /whl/cpu/torch/",
  "ERROR: No matching distribution found for torch>=2.4",
].join("");

/** A fake `python`: `-m pip install --index-url ...` fails as offline pip does when `offline`. */
function standIn(offline: boolean): { python: string; dir: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), "lmprobe-pip-standin-"));
  const log = join(dir, "calls.log");
  const python = join(dir, "python");
  const pipSuccess = "echo 'Successfully installed torch-2.13.0+cpu'";
  writeFileSync(
    python,
    [
      "#!/bin/sh",
      `echo "$*" >> '${log}'`,
      'case "$*" in',
      `  *--index-url*) ${offline ? `echo '${OFFLINE_OUTPUT.replace(/'/g, "'\\''")}'; exit 1` : pipSuccess};;`,
      `  *importlib*) echo '{"version": "2.13.0+cpu", "cuda": false}';;`,
      "  *) echo 'Successfully installed the-rest';;",
      "esac",
      "",
    ].join("\n"),
  );
  chmodSync(python, 0o755);
  writeFileSync(join(dir, "requirements.txt"), "torch>=2.4\nnumpy\n");
  return { python, dir, calls: () => readFileSync(log, "utf8").trim().split("\n") };
}

const linuxCpu = { platform: "linux" as const, arch: "x64" };

describe.skipIf(process.platform === "win32")("install steps with a stand-in interpreter", () => {
  it("CPU index reachable: torch first, then the rest pinned to it", async () => {
    const { python, dir, calls } = standIn(false);
    const said: string[] = [];
    const used = await installDependencies({
      python,
      choice: chooseTorchIndex(linuxCpu, undefined),
      requirements: [join(dir, "requirements.txt")],
      dir,
      replaceTorch: false,
      say: (m) => said.push(m),
    });
    expect(used.name).toBe("cpu");
    const pipCalls = calls().filter((c) => c.includes("pip install"));
    expect(pipCalls[0]).toContain("--index-url https://download.pytorch.org/whl/cpu torch>=2.4");
    expect(pipCalls[1]).toContain(`-c ${join(dir, ".lmprobe-torch-pin.txt")}`);
    expect(readFileSync(join(dir, ".lmprobe-torch-pin.txt"), "utf8")).toBe("torch==2.13.0+cpu\n");
  });

  it("automatic CPU index unreachable: falls back to the default index and says so", async () => {
    const { python, dir, calls } = standIn(true);
    const said: string[] = [];
    const used = await installDependencies({
      python,
      choice: chooseTorchIndex(linuxCpu, undefined),
      requirements: [join(dir, "requirements.txt")],
      dir,
      replaceTorch: false,
      say: (m) => said.push(m),
    });
    expect(used).toMatchObject({ name: "pypi", source: "auto" });
    expect(said.join("\n")).toMatch(/could not be reached; installing torch from the default pip index/);
    const pipCalls = calls().filter((c) => c.includes("pip install"));
    expect(pipCalls).toHaveLength(2);
    expect(pipCalls[1]).not.toContain("--index-url");
    expect(pipCalls[1]).toContain(`-r ${join(dir, "requirements.txt")}`);
  });

  it("a named index that is unreachable fails with the fix, and installs nothing else", async () => {
    const { python, dir, calls } = standIn(true);
    const err = await installDependencies({
      python,
      choice: chooseTorchIndex(linuxCpu, "cpu"),
      requirements: [join(dir, "requirements.txt")],
      dir,
      replaceTorch: false,
      say: () => undefined,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PythonEnvError);
    expect((err as Error).message).toMatch(/could not be reached.*LMPROBE_TORCH_INDEX=pypi/s);
    expect(calls().filter((c) => c.includes("pip install"))).toHaveLength(1);
  });
});
