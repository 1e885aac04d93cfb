/**
 * The discovery file of a daemon (`daemon.json` in its folder, written by the daemon itself): which
 * endpoint to connect to, and enough to tell a live daemon of this user from a stale or planted
 * file. A runtime trusts the file only when the folder and file belong to this user and no one
 * else may read or write them, the socket's folder is private too, the pid is alive and the
 * protocol matches; anything else is ignored (with the reason, which the runtime warns about).
 */
import { lstatSync, readFileSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { PROTOCOL_VERSION } from "../protocol/version.js";
import { errorMessage, isRecord } from "../internal/unknown-values.js";
import { daemonFiles } from "./daemon-paths.js";
import { pidAlive } from "./pid-alive.js";
import { raySettingsFromWire, type RaySettings } from "./ray-settings.js";

/** What a valid discovery file says. */
export interface DaemonInfo {
  endpoint: string;
  pid: number;
  uid: number;
  protocol: number;
  /** Seconds since the epoch. */
  startedAt: number;
  /** The Ray cluster it shards extractions over (`lmprobe worker start --ray`), or null. */
  ray: RaySettings | null;
}

/** Why a discovery file was not used. `missing` is the normal case (no daemon) and is not warned about. */
export type DiscoveryProblem = "missing" | "stale" | "foreign" | "loose" | "invalid" | "protocol";

/** The outcome of {@link readDiscovery}. */
export type Discovery =
  | { ok: true; info: DaemonInfo; path: string }
  | { ok: false; problem: DiscoveryProblem; message: string; path: string; pid?: number; endpoint?: string };

const uid = (): number => process.getuid?.() ?? -1;

/** Why a file or folder is not private to this user, or undefined when it is. */
function privacyProblem(
  st: Stats,
  what: string,
  path: string,
): { problem: DiscoveryProblem; message: string } | undefined {
  if (st.isSymbolicLink()) return { problem: "loose", message: `${what} ${path} is a symbolic link` };
  if (st.uid !== uid())
    return { problem: "foreign", message: `${what} ${path} belongs to user ${st.uid}, not to this user (${uid()})` };
  if (st.mode & 0o077)
    return {
      problem: "loose",
      message: `${what} ${path} has mode 0${(st.mode & 0o777).toString(8)}: others may read or write it (chmod go-rwx)`,
    };
  return undefined;
}

/** Reads and checks the discovery file of the daemon folder `dir`. Never throws. */
export function readDiscovery(dir: string): Discovery {
  const path = daemonFiles(dir).discovery;
  const fail = (problem: DiscoveryProblem, message: string, pid?: number): Discovery & { ok: false } => ({
    ok: false,
    problem,
    message,
    path,
    ...(pid !== undefined ? { pid } : {}),
  });
  let dirStat: Stats;
  let fileStat: Stats;
  try {
    dirStat = lstatSync(dir);
    fileStat = lstatSync(path);
  } catch {
    return fail("missing", `no daemon discovery file at ${path}`);
  }
  const unsafe =
    privacyProblem(dirStat, "the daemon folder", dir) ?? privacyProblem(fileStat, "the discovery file", path);
  if (unsafe) return fail(unsafe.problem, unsafe.message);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    return fail("invalid", `the discovery file ${path} is not JSON (${errorMessage(err)})`);
  }
  if (
    !isRecord(raw) ||
    typeof raw.endpoint !== "string" ||
    !raw.endpoint.startsWith("ipc://") ||
    !Number.isSafeInteger(raw.pid) ||
    typeof raw.uid !== "number" ||
    typeof raw.protocol !== "number"
  )
    return fail("invalid", `the discovery file ${path} lacks endpoint (ipc://), pid, uid or protocol`);
  const info: DaemonInfo = {
    endpoint: raw.endpoint,
    pid: Number(raw.pid),
    uid: raw.uid,
    protocol: raw.protocol,
    startedAt: typeof raw.startedAt === "number" ? raw.startedAt : 0,
    ray: raySettingsFromWire(raw.ray),
  };
  if (info.uid !== uid()) return fail("foreign", `the discovery file ${path} names user ${info.uid}, not this user`);
  if (!pidAlive(info.pid))
    return {
      ...fail("stale", `the daemon of ${path} (pid ${info.pid}) is not running (killed?)`, info.pid),
      endpoint: info.endpoint,
    };
  if (info.protocol !== PROTOCOL_VERSION)
    return {
      ...fail(
        "protocol",
        `the daemon (pid ${info.pid}) speaks protocol ${info.protocol}, this SDK ${PROTOCOL_VERSION}: ` +
          "`lmprobe worker start` replaces it (or `lmprobe worker stop` stops it)",
        info.pid,
      ),
      endpoint: info.endpoint,
    };
  const socketFolder = dirname(info.endpoint.slice("ipc://".length));
  let sockStat: Stats;
  try {
    sockStat = lstatSync(socketFolder);
  } catch {
    return fail("stale", `the daemon's socket folder ${socketFolder} is gone`, info.pid);
  }
  const socketUnsafe = privacyProblem(sockStat, "the daemon's socket folder", socketFolder);
  if (socketUnsafe) return fail(socketUnsafe.problem, socketUnsafe.message, info.pid);
  return { ok: true, info, path };
}
