/**
 * The start lock of a daemon folder: two `lmprobe worker start` at once must give one daemon. The
 * lock is a file created exclusively (O_EXCL) holding its owner's pid; a lock whose owner died
 * (killed during a start) is stale and taken over. The take-over renames the stale file aside
 * first, so two processes recovering the same stale lock cannot both win: only one rename succeeds.
 */
import { linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, closeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { TimeoutError } from "../errors.js";
import { pidAlive } from "./pid-alive.js";

/** A lock file not yet holding a pid (its owner is between open and write) is this old before it counts as stale. */
const EMPTY_LOCK_GRACE_MS = 5000;

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isSafeInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isStale(path: string): boolean {
  const owner = ownerOf(path);
  if (owner !== undefined) return !pidAlive(owner);
  try {
    return Date.now() - statSync(path).mtimeMs > EMPTY_LOCK_GRACE_MS;
  } catch {
    return false; // removed meanwhile: the next try creates it
  }
}

/** Takes the lock once; false when another live process holds it. */
function tryLock(path: string): boolean {
  try {
    const fd = openSync(path, "wx", 0o600);
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  if (!isStale(path)) return false;
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside); // only one of several recoverers gets the file
  } catch {
    return false;
  }
  const owner = ownerOf(aside);
  if (owner !== undefined && pidAlive(owner)) {
    // Between the check and the rename a live process took the lock: give it back (link fails
    // if yet another process holds it by now, which then keeps it).
    try {
      linkSync(aside, path);
    } catch {
      // held by someone else
    }
  }
  rmSync(aside, { force: true });
  return false; // the caller retries and creates it exclusively
}

/** Runs `fn` holding the lock file `path`; waits up to `timeoutMs` for another holder. */
export async function withLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (!tryLock(path)) {
    if (Date.now() > deadline) throw new TimeoutError(`Waiting for the daemon start lock ${path}`, timeoutMs);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    if (ownerOf(path) === process.pid) rmSync(path, { force: true });
  }
}
