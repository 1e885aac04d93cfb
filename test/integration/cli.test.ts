/** The `lmprobe` command, run as users run it (the built dist/ in a child process). */
import { execa } from "execa";
import { describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime } from "../../src/index.js";
import { CATS } from "../helpers/prompts.js";
import { freshDir } from "../helpers/cache.js";

const models = inject("tinyModels");
const cli = (...args: string[]) => execa("node", [new URL("../../dist/cli/main.js", import.meta.url).pathname, ...args], { reject: false });

describe("lmprobe CLI", () => {
  it("setup reuses an up-to-date environment in well under a second", async () => {
    const started = Date.now();
    const result = await cli("setup");
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000); // includes Node's own start-up
    expect(result.stderr).toMatch(/ready: .*python \(0\.\d\d s\)/);
  });

  it("env --json reports the interpreter and package versions", async () => {
    const result = await cli("env", "--json");
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { executable: string; versions: Record<string, string>; protocol: number };
    expect(report.executable).toContain("python");
    expect(Object.keys(report.versions)).toEqual(expect.arrayContaining(["torch", "transformers", "sklearn"]));
  });

  it("cache info, prune and clear", async () => {
    const dir = freshDir();
    await using runtime = new PythonRuntime();
    const probe = new Probe({ model: models.gpt2.path, layers: [0, 1], cacheDir: dir, runtime });
    await probe.warmup(CATS);
    await probe.close();
    const info = JSON.parse((await cli("cache", "info", "--json", "--dir", dir)).stdout) as { models: Array<{ model: string; entries: number; layers: number }> };
    expect(info.models).toMatchObject([{ model: models.gpt2.path, entries: 20, layers: 2 }]);
    expect((await cli("cache", "prune", "--max-gb", "0", "--dir", dir)).stdout).toContain("removed 20");
    await probe.warmup(CATS);
    await probe.close();
    expect((await cli("cache", "clear", "--model", models.gpt2.path, "--dir", dir)).stdout).toContain("removed 20");
    expect((await cli("cache", "prune", "--dir", dir)).stderr).toContain("--max-gb");
    expect((await cli("bogus")).exitCode).toBe(2);
  });
});
