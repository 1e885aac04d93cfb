/**
 * The process bookkeeping of the real-NDIF test harness (test/ndif-real/harness/processes.ts), on
 * plain `sleep` processes: no server and no Python. It is what keeps a crashed test run from
 * leaving a server behind, so it is tested on its own.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { cleanStaleRuns, Run, runProcesses, type RunRecord } from "../ndif-real/harness/processes.js";

const runs: Run[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
});

/** A run with three processes: a group leader and its child, and one that left the group (setsid). */
async function threeProcessRun(env: NodeJS.ProcessEnv): Promise<{ run: Run; scratch: string }> {
  const run = new Run(`test${Math.random().toString(16).slice(2, 10)}`, env);
  runs.push(run);
  const scratch = mkdtempSync(join(tmpdir(), "ndif-harness-scratch-"));
  run.scratch(scratch);
  run.spawn(
    "sh",
    ["-c", "sleep 300 & setsid sleep 301 & exec sleep 302"],
    { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    join(scratch, "log"),
  );
  for (let i = 0; i < 50 && runProcesses(run.record).length < 3; i++) await sleep(100);
  return { run, scratch };
}

describe("real-NDIF harness: processes by pid", () => {
  it(
    "a run whose owner died is cleaned by the next: group members and " +
      "marked processes killed, record and scratch removed",
    async () => {
      const env = { ...process.env, LMPROBE_NDIF_RUNS_DIR: mkdtempSync(join(tmpdir(), "ndif-runs-")) };
      const { run, scratch } = await threeProcessRun(env);
      const pids = runProcesses(run.record);
      expect(pids).toHaveLength(3);
      // make its owner a process that has exited (as a killed vitest would be)
      const file = join(env.LMPROBE_NDIF_RUNS_DIR, `${run.record.token}.json`);
      const dead = Number(execFileSync("sh", ["-c", "sh -c 'echo $$'"]).toString().trim());
      const record = JSON.parse(readFileSync(file, "utf8")) as RunRecord;
      writeFileSync(file, JSON.stringify({ ...record, owner: dead, ownerStart: "0" }));
      expect(await cleanStaleRuns(env)).toBe(1);
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
      expect(existsSync(file)).toBe(false);
      expect(existsSync(scratch)).toBe(false);
    },
  );

  it("a run whose owner is alive (another test run's server) is left alone; stop() ends all of it", async () => {
    const env = { ...process.env, LMPROBE_NDIF_RUNS_DIR: mkdtempSync(join(tmpdir(), "ndif-runs-")) };
    const { run } = await threeProcessRun(env);
    const pids = runProcesses(run.record);
    expect(await cleanStaleRuns(env)).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).not.toThrow();
    expect(await run.stop()).toBe(3);
    expect(runProcesses(run.record)).toEqual([]);
  });

  it("an unreadable record is dropped without signalling anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ndif-runs-"));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "broken.json"), "{not json");
    expect(await cleanStaleRuns({ ...process.env, LMPROBE_NDIF_RUNS_DIR: dir })).toBe(0);
    expect(existsSync(join(dir, "broken.json"))).toBe(false);
  });
});
