/**
 * `probe.save(path)` over an existing probe never destroys it (issue 11 item 7): a crash at any
 * step leaves a probe that `Probe.load(path)` loads (the old one until the new one is complete),
 * and the next save removes the leftovers. Crashes are real `kill -9`s of child Node processes
 * (at each step through the save's test hook, and at random moments of a save loop), plus the
 * on-disk states such crashes leave. No Python: probes are built in TypeScript.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { Probe } from "../../src/index.js";
import type { FittedState } from "../../src/estimator/fitted-state.js";
import { saveSynthetic, syntheticState } from "../helpers/synthetic-probe.js";

const root = mkdtempSync(join(tmpdir(), "save-crash-"));
const dist = (file: string) => JSON.stringify(new URL(`../../dist/${file}`, import.meta.url).href);
let n = 0;

/** The synthetic probe with intercept `b`, so old and new probes are told apart. */
const stateWith = (b: number): FittedState => {
  const s = syntheticState();
  return { ...s, model: { ...s.model, intercept: Float64Array.of(b) } as FittedState["model"] };
};
const interceptAt = async (path: string) => {
  const model = (await Probe.load(path)).fittedState!.model;
  return model.kind === "linear" ? model.intercept[0] : undefined;
};

/** A pid that no process has any more (a child that already exited). */
const deadPid = () =>
  Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());

async function freshPair(): Promise<{ parent: string; path: string }> {
  const parent = join(root, `case${n++}`);
  mkdirSync(parent);
  const path = join(parent, "probe");
  await saveSynthetic(path, stateWith(0.25));
  return { parent, path };
}

/** After a crash: load works and gives `expected`; a new save succeeds and leaves only the probe. */
async function expectRecovered(parent: string, path: string, expected: number): Promise<void> {
  expect(await interceptAt(path)).toBe(expected);
  await saveSynthetic(path, stateWith(0.5));
  expect(readdirSync(parent)).toEqual(["probe"]);
  expect(await interceptAt(path)).toBe(0.5);
}

describe("the states a crashed save leaves on disk", () => {
  it("a half-written temporary folder next to the old probe", async () => {
    const { parent, path } = await freshPair();
    const temp = join(parent, `.probe.tmp-${deadPid()}-0a0a0a0a`);
    mkdirSync(temp);
    writeFileSync(join(temp, "probe.safetensors"), "partial");
    await expectRecovered(parent, path, 0.25);
  });

  it("the old probe moved aside, the new one complete but not yet renamed in", async () => {
    const { parent, path } = await freshPair();
    const temp = join(parent, `.probe.tmp-${deadPid()}-0b0b0b0b`);
    await saveSynthetic(join(root, `new${n}`), stateWith(0.75));
    cpSync(join(root, `new${n}`), temp, { recursive: true });
    renameSync(path, `${temp}.old`);
    await expectRecovered(parent, path, 0.25);
  });

  it("the new probe in place, the old one not yet removed", async () => {
    const { parent, path } = await freshPair();
    cpSync(path, join(parent, `.probe.tmp-${deadPid()}-0c0c0c0c.old`), { recursive: true });
    await saveSynthetic(path, stateWith(0.75));
    await expectRecovered(parent, path, 0.75);
  });
});

describe("kill -9 during save", () => {
  const steps = [
    ["temp-partial", 0.25],
    ["temp-written", 0.25],
    ["old-moved-aside", 0.25],
    ["new-in-place", 0.75],
  ] as const;

  it.each(steps)(
    "at step %s: the probe still loads (intercept %s) and the next save cleans up",
    async (step, expected) => {
      const { parent, path } = await freshPair();
      const script = `
      import { saveProbe } from ${dist("persist/probe-file.js")};
      import { parseProbeOptions } from ${dist("config/probe-options.js")};
      import { Probe } from ${dist("index.js")};
      const state = (await Probe.load(${JSON.stringify(path)})).fittedState;
      state.model.intercept = Float64Array.of(0.75);
      const options = parseProbeOptions({ model: "/nonexistent/tiny-model", layers: [0, 1] });
      await saveProbe(${JSON.stringify(path)}, options, state, {
        onStep: (s) => s === ${JSON.stringify(step)} && process.kill(process.pid, "SIGKILL"),
      });
      console.log("not killed");
    `;
      const child = await execa("node", ["--input-type=module", "-e", script], { reject: false, timeout: 60_000 });
      expect(child.signal, child.stderr).toBe("SIGKILL");
      expect(readdirSync(parent).length).toBeGreaterThan(1); // the crash left something behind
      await expectRecovered(parent, path, expected);
    },
  );

  it("a process saving in a loop, killed at random moments, always leaves a loadable probe", async () => {
    const { parent, path } = await freshPair();
    const script = `
      import { Probe } from ${dist("index.js")};
      const probe = await Probe.load(${JSON.stringify(path)});
      for (let i = 0; ; i++) {
        await probe.save(${JSON.stringify(path)});
        if (i === 3) console.log("saving");
      }
    `;
    let killedMidway = 0;
    for (let round = 0; round < 12; round++) {
      const child = execa("node", ["--input-type=module", "-e", script], { reject: false });
      await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      child.kill("SIGKILL");
      const result = await child;
      expect(result.signal, result.stderr).toBe("SIGKILL");
      if (readdirSync(parent).length > 1) killedMidway++; // the kill hit a save mid-way
      expect(await interceptAt(path)).toBe(0.25);
    }
    await expectRecovered(parent, path, 0.25);
    console.info(`save loop: ${killedMidway} of 12 kills left a temporary folder behind`);
  });
});
