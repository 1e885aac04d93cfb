/**
 * Starting and stopping the server's processes by pid, and a record of each run on disk so that
 * a run which crashed (or whose Node was killed) is cleaned up by the next one.
 *
 * Every process the harness starts leads its own process group, and carries LMPROBE_NDIF_RUN=<token>
 * in its environment. A run's processes are the members of those groups (Ray's daemons stay in
 * the group of `ray start`) plus every process whose /proc/<pid>/environ carries the token
 * (children that left the group: Ray's workers and actors, gunicorn's workers, NDIF's
 * dispatcher). Both are needed: redis and Ray's agents rename themselves (setproctitle), which
 * overwrites their environ, and some children start their own session. Nothing else on the
 * machine is ever signalled (no `ray stop --force`, which stops every Ray on the machine, no kill
 * by process name).
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Environment variable that marks every process of a run. */
export const RUN_MARK = "LMPROBE_NDIF_RUN";

/** Folder of the run records: ~/.cache/lmprobe-ts/ndif-runs/<token>.json. */
export function runsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LMPROBE_NDIF_RUNS_DIR ?? join(homedir(), ".cache", "lmprobe-ts", "ndif-runs");
}

/** What a run record holds. */
export interface RunRecord {
  token: string;
  /** The Node process that owns the run, and its start time (clock ticks since boot, to survive pid reuse). */
  owner: number;
  ownerStart: string;
  /** Process group leaders started by the harness, with their start times. */
  groups: { pid: number; start: string }[];
  /** Folders to remove when the run is cleaned up (Ray's temp dir). */
  scratch: string[];
}

function stat(pid: number | string): string[] | undefined {
  try {
    // the fields after the ")" that ends the command name: [0] state, [2] pgid, [19] start time
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function startTime(pid: number): string | undefined {
  return stat(pid)?.[19];
}

/**
 * Live members of a group the harness started. While a group has members the kernel does not
 * hand its number out as a new pid, so members of a group whose leader is gone are still ours;
 * a live leader must be the very process started (same start time), not a reused pid.
 */
function groupMembers(group: { pid: number; start: string }): number[] {
  const leader = stat(group.pid);
  if (leader && leader[19] !== group.start) return [];
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (/^\d+$/.test(name) && stat(name)?.[2] === String(group.pid)) members.push(Number(name));
  }
  return members;
}

/** Pids of the live processes that carry `token` in their environment. */
export function processesOf(token: string): number[] {
  const needle = `${RUN_MARK}=${token}\0`;
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").includes(needle)) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found.filter((pid) => pid !== process.pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Every live process of a run: members of its groups and carriers of its token. */
export function runProcesses(record: Pick<RunRecord, "token" | "groups">): number[] {
  const all = new Set(processesOf(record.token));
  for (const g of record.groups) for (const pid of groupMembers(g)) all.add(pid);
  all.delete(process.pid);
  return [...all];
}

/** SIGTERM to the run's processes, then SIGKILL to whatever is left after `graceMs`. */
export async function killRun(
  record: Pick<RunRecord, "token" | "groups" | "scratch">,
  graceMs = 8000,
): Promise<number> {
  const first = runProcesses(record);
  for (const pid of first) signal(pid, "SIGTERM");
  const until = Date.now() + graceMs;
  while (runProcesses(record).length > 0 && Date.now() < until) await sleep(200);
  for (const pid of runProcesses(record)) signal(pid, "SIGKILL");
  for (let i = 0; i < 25 && runProcesses(record).length > 0; i++) await sleep(200);
  for (const dir of record.scratch) rmSync(dir, { recursive: true, force: true });
  return first.length;
}

/** Cleans up the runs whose owner is gone (a crashed or killed test run). Returns how many. */
export async function cleanStaleRuns(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const dir = runsDir(env);
  if (!existsSync(dir)) return 0;
  let cleaned = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    let rec: RunRecord;
    try {
      rec = JSON.parse(readFileSync(join(dir, f), "utf8")) as RunRecord;
    } catch {
      unlinkSync(join(dir, f));
      continue;
    }
    if (startTime(rec.owner) === rec.ownerStart) continue; // its owner is alive: another test run's server
    await killRun(rec);
    rmSync(join(dir, f), { force: true });
    cleaned++;
  }
  return cleaned;
}

/** One run: spawns marked processes, keeps its record on disk, stops everything by pid. */
export class Run {
  readonly record: RunRecord;
  private readonly file: string;

  constructor(token: string, env: NodeJS.ProcessEnv = process.env) {
    this.record = { token, owner: process.pid, ownerStart: startTime(process.pid) ?? "", groups: [], scratch: [] };
    mkdirSync(runsDir(env), { recursive: true });
    this.file = join(runsDir(env), `${token}.json`);
    this.save();
  }

  private save(): void {
    writeFileSync(this.file, JSON.stringify(this.record, null, 1));
  }

  /** Remembers a folder to delete at stop. */
  scratch(dir: string): void {
    this.record.scratch.push(dir);
    this.save();
  }

  /** Spawns `cmd` in its own process group, output to `log`; returns the child (not awaited). */
  spawn(
    cmd: string,
    args: string[],
    env: Record<string, string>,
    log: string,
  ): import("node:child_process").ChildProcess {
    const fd = openSync(log, "a");
    const child = spawn(cmd, args, {
      env: { ...env, [RUN_MARK]: this.record.token },
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    if (child.pid) {
      this.record.groups.push({ pid: child.pid, start: startTime(child.pid) ?? "" });
      this.save();
    }
    return child;
  }

  /** SIGKILL to every process of the run, synchronously; the record stays for the next run's cleanup. */
  killNow(): void {
    for (const pid of runProcesses(this.record)) signal(pid, "SIGKILL");
  }

  /** Stops every process of the run and forgets the record. Returns how many processes were signalled. */
  async stop(): Promise<number> {
    const n = await killRun(this.record);
    rmSync(this.file, { force: true });
    return n;
  }
}
