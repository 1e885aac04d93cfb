/**
 * `lmprobe worker start|status|stop`: starting a detached daemon (under the start lock, so two
 * starts give one daemon), asking it for its status, and stopping it. The daemon writes its own
 * discovery file once it listens; `start` waits for that file to name the process it spawned.
 */
import { spawn } from "node:child_process";
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { InvalidOptionError, TimeoutError, WorkerStartError } from "../errors.js";
import { ensurePythonEnv } from "../env/python-env.js";
import { ensureRay } from "../env/ray-env.js";
import type { ProgressEvent } from "../types.js";
import type { WireBody } from "../protocol/wire-values.js";
import { workerStatusFromWire, type WorkerStatus } from "../protocol/worker-status.js";
import { readDiscovery, type DaemonInfo, type Discovery } from "./daemon-discovery.js";
import { logTail } from "./daemon-handle.js";
import { withLock } from "./daemon-lock.js";
import { daemonDir, daemonFiles } from "./daemon-paths.js";
import { pidAlive } from "./pid-alive.js";
import { describeRay, raySettingsOf, sameRay, withRayEnv } from "./ray-settings.js";
import { RpcClient } from "./rpc-client.js";
import { removeSocketFolder } from "./socket-folder.js";
import { workerArgs } from "./worker-process.js";

/** Options of {@link startDaemon}. */
export interface StartDaemonOptions {
  /** Exit after this many seconds without a client (0: never). */
  idleTimeoutS: number;
  /** Bytes of loaded models the daemon keeps (LRU); default: the worker's (half of RAM). */
  modelMemoryBytes?: number | undefined;
  /** Limit for the Python start (torch is not imported yet; scikit-learn is). @default 180000 */
  timeoutMs?: number | undefined;
  /**
   * The checked `LMPROBE_RAY_*` variables (ray-options.ts `rayFlagsEnv`): the daemon shards its
   * extractions over that cluster. Undefined: no Ray (inherited, unchecked variables are dropped).
   */
  rayEnv?: Record<string, string> | undefined;
  onProgress?: ((e: ProgressEvent) => void) | undefined;
}

/** What {@link startDaemon} found or started. */
export interface StartedDaemon {
  info: DaemonInfo;
  /** False when a daemon was running already (nothing was started). */
  started: boolean;
  log: string;
}

/** Makes the daemon folder, private (0700), and refuses one that belongs to someone else. */
export function ensureDaemonDir(dir: string = daemonDir()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.())
    throw new WorkerStartError(
      `the daemon folder ${dir} is not a folder of this user: remove it or set LMPROBE_DAEMON_DIR`,
      "",
    );
  if (st.mode & 0o077) chmodSync(dir, 0o700);
  return dir;
}

/** Sends one control message to a daemon and closes the connection; rejects after `timeoutMs`. */
export async function controlRequest(endpoint: string, type: string, body: WireBody = {}, timeoutMs = 5000) {
  const rpc = new RpcClient(endpoint);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      rpc.request(type, body),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`The daemon's ${type} reply`, timeoutMs)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    rpc.close();
  }
}

/** A daemon that the discovery file names and that answers a ping, or undefined. */
async function liveDaemon(dir: string): Promise<(Discovery & { ok: true }) | undefined> {
  const found = readDiscovery(dir);
  if (!found.ok) return undefined;
  try {
    await controlRequest(found.info.endpoint, "ping");
    return found;
  } catch {
    return undefined;
  }
}

/** Removes what a daemon killed -9 left: its discovery file and its socket folder. */
function removeStale(found: Discovery & { ok: false }): void {
  rmSync(found.path, { force: true });
  if (found.endpoint) removeSocketFolder(found.endpoint);
}

/** Starts the daemon of `LMPROBE_HOME` (or `LMPROBE_DAEMON_DIR`) unless one runs already. */
export async function startDaemon(options: StartDaemonOptions): Promise<StartedDaemon> {
  const dir = ensureDaemonDir();
  const files = daemonFiles(dir);
  const timeoutMs = options.timeoutMs ?? 180_000;
  return withLock(files.lock, timeoutMs + 10_000, async () => {
    const running = await liveDaemon(dir);
    const ray = raySettingsOf(options.rayEnv);
    if (running && options.rayEnv && !sameRay(ray, running.info.ray))
      throw new InvalidOptionError(
        "--ray",
        `a daemon (pid ${running.info.pid}) already runs with Ray ${describeRay(running.info.ray)}, not ` +
          `${describeRay(ray)}: stop it first (lmprobe worker stop).`,
      );
    if (running) return { info: running.info, started: false, log: files.log };
    const previous = readDiscovery(dir);
    if (!previous.ok && previous.problem === "stale") removeStale(previous);
    if (!previous.ok && previous.problem === "protocol") await stopOlderDaemon(previous, 10_000); // replaced
    const pyEnv = await ensurePythonEnv(options.onProgress ? { onProgress: options.onProgress } : {});
    if (options.rayEnv) await ensureRay(pyEnv, options.onProgress); // the managed venv installs the extra
    const python = pyEnv.python;
    const log = openSync(files.log, "a", 0o600);
    const args = [
      ...workerArgs(),
      "--daemon",
      "--discovery",
      files.discovery,
      "--idle-timeout",
      String(options.idleTimeoutS),
      ...(options.modelMemoryBytes !== undefined ? ["--model-memory", String(options.modelMemoryBytes)] : []),
    ];
    // Detached, in its own session, stdin closed: it outlives this command and any terminal.
    const env = withRayEnv(process.env, options.rayEnv);
    const child = spawn(python, args, { detached: true, stdio: ["ignore", log, log], env });
    closeSync(log);
    let exitCode: number | null | undefined;
    child.on("exit", (code, signal) => (exitCode = code ?? (signal ? -1 : null)));
    child.on("error", () => (exitCode = -1));
    child.unref();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = readDiscovery(dir);
      if (found.ok && found.info.pid === child.pid) {
        await controlRequest(found.info.endpoint, "ping", {}, 30_000);
        return { info: found.info, started: true, log: files.log };
      }
      if (exitCode !== undefined)
        throw new WorkerStartError(`the daemon exited during start-up (log: ${files.log})`, logTail(files.log));
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new WorkerStartError(
          `the daemon did not listen within ${timeoutMs} ms (log: ${files.log})`,
          logTail(files.log),
        );
      }
      await sleep(100);
    }
  });
}

/** The status a daemon reports (pid, uptime, clients, models, memory), or the reason there is none. */
export async function daemonStatus(): Promise<{ status: WorkerStatus } | { none: string }> {
  const found = readDiscovery(daemonDir());
  if (!found.ok) return { none: found.message };
  try {
    return { status: workerStatusFromWire(await controlRequest(found.info.endpoint, "status")) };
  } catch (err) {
    return { none: `the daemon (pid ${found.info.pid}) does not answer: ${String(err)}` };
  }
}

/**
 * Stops the daemon: a shutdown it honours (`daemon: true`), then SIGTERM, then SIGKILL, each after
 * a grace period. A stale discovery file is removed. Returns the stopped pid, or the reason none ran.
 */
export async function stopDaemon(graceMs = 10_000): Promise<{ pid: number } | { none: string }> {
  const dir = daemonDir();
  const found = readDiscovery(dir);
  if (!found.ok) {
    if (found.problem === "stale") removeStale(found);
    if (found.problem === "protocol") return stopOlderDaemon(found, graceMs);
    return { none: found.message };
  }
  const { pid, endpoint } = found.info;
  await controlRequest(endpoint, "shutdown", { daemon: true }).catch(() => undefined);
  return terminate(dir, pid, endpoint, graceMs);
}

/**
 * A daemon of another protocol version (the SDK was upgraded under it): its `shutdown` may not be
 * understood, but any reply proves a worker listens at the file's endpoint, so the live pid the
 * private file names is that daemon and not a process that reused the pid of one long gone. Without a
 * reply nothing is signalled.
 */
async function stopOlderDaemon(
  found: Discovery & { ok: false },
  graceMs: number,
): Promise<{ pid: number } | { none: string }> {
  const { pid, endpoint } = found;
  if (pid === undefined || endpoint === undefined) return { none: found.message };
  const answered = await controlRequest(endpoint, "shutdown", { daemon: true }, 3000).then(
    () => true,
    (err: unknown) => !(err instanceof TimeoutError),
  );
  if (!answered) return { none: `${found.message}; it does not answer at ${endpoint}, so pid ${pid} was left alone` };
  return terminate(dirname(found.path), pid, endpoint, graceMs);
}

/** Waits for `pid` to exit after its shutdown request, then SIGTERM, then SIGKILL; cleans up after it. */
async function terminate(dir: string, pid: number, endpoint: string, graceMs: number): Promise<{ pid: number }> {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    const deadline = Date.now() + graceMs;
    while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
    if (!pidAlive(pid)) break;
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
  const after = readDiscovery(dir);
  if (!after.ok && after.problem === "stale") rmSync(after.path, { force: true }); // SIGKILLed: it could not
  if (!pidAlive(pid)) removeSocketFolder(endpoint);
  return { pid };
}
