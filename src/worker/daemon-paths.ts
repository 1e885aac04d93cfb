/**
 * Where a long-lived worker ("daemon", `lmprobe worker start`) keeps its files, and whether a
 * runtime looks for one. One daemon per `LMPROBE_HOME`: its folder holds the discovery file, the
 * start lock and the log, and is private to the user (0700).
 */
import { join, resolve } from "node:path";
import { lmprobeHome } from "../env/paths.js";
import { InvalidOptionError } from "../errors.js";

/** `LMPROBE_DAEMON_DIR`, else `LMPROBE_HOME/daemon`. */
export function daemonDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LMPROBE_DAEMON_DIR ? resolve(env.LMPROBE_DAEMON_DIR) : join(lmprobeHome(env), "daemon");
}

/** The files of a daemon folder. */
export function daemonFiles(dir: string): { discovery: string; lock: string; log: string } {
  return { discovery: join(dir, "daemon.json"), lock: join(dir, "daemon.lock"), log: join(dir, "daemon.log") };
}

/** How a runtime uses a running daemon: `"auto"` attaches when one is found, `"off"` never does. */
export type DaemonMode = "auto" | "off";

/** What decides whether a runtime attaches to a daemon. */
export interface DaemonChoice {
  daemon?: DaemonMode | undefined;
  pythonPath?: string | undefined;
  env?: Record<string, string> | undefined;
  workerArgs?: string[] | undefined;
  /** A remote worker (TCP + CURVE, issue 13 item 2): never a local daemon then. */
  connect?: unknown;
}

/**
 * True when a runtime should look for a daemon: not turned off (option, else `LMPROBE_DAEMON=off`),
 * and the runtime asks for no interpreter, environment or worker of its own (a shared daemon runs
 * with the environment it was started with, so such a runtime needs its own child worker).
 */
export function wantsDaemon(options: DaemonChoice, env: NodeJS.ProcessEnv = process.env): boolean {
  const own = [options.pythonPath, options.env, options.workerArgs, options.connect];
  if (own.some((o) => o !== undefined)) return false;
  if (process.platform === "win32" || typeof process.getuid !== "function") return false; // ipc:// sockets only
  const mode = options.daemon ?? (env.LMPROBE_DAEMON?.toLowerCase() === "off" ? "off" : "auto");
  return mode === "auto";
}

/**
 * Refuses a `daemon` option other than "auto" or "off".
 * @throws {InvalidOptionError} `INVALID_OPTION` naming `daemon`.
 */
export function checkDaemonOption(value: unknown): void {
  if (value !== undefined && value !== "auto" && value !== "off")
    throw new InvalidOptionError("daemon", `daemon must be "auto" or "off", got ${JSON.stringify(value)}.`);
}
