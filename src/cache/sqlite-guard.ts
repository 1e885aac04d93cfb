/**
 * The failure policy of the cache's SQLite index. Three kinds of failure are told apart:
 * busy (another process holds a lock: wait and retry, since switching to WAL and creating the
 * schema do not always honour the busy timeout), damaged (a corrupt page or not a database: the
 * index is only a cache of recomputable values, so it is set aside and started afresh — at once
 * when opening, at the next open when found mid-operation), and the rest. Every one of them
 * reaches the caller as a CacheError naming the folder and the fix, never as a raw SqliteError.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { CacheError } from "../errors.js";
import { errorCode, errorMessage } from "../internal/unknown-values.js";

/** The index file in a cache folder. */
export const INDEX_FILE = "index.sqlite";
/** Left next to the index when a damaged page was met: the next open starts a fresh index. */
const DAMAGED_MARKER = `${INDEX_FILE}.damaged`;
/** How long a cache operation waits for another process's lock. */
export const BUSY_TIMEOUT_MS = 30_000;

const codeOf = (err: unknown): string => errorCode(err) ?? "";

/** A corrupt page, or a file that is not a database. */
export function isDamaged(err: unknown): boolean {
  const code = codeOf(err);
  return code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB";
}

/** Another connection holds a lock. */
export function isBusy(err: unknown): boolean {
  const code = codeOf(err);
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `fn`, retrying with a growing pause while SQLite reports the database busy. */
export function retryBusy<T>(fn: () => T, timeoutMs = BUSY_TIMEOUT_MS): T {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() + pause > deadline) throw err;
      sleepSync(pause + Math.random() * pause); // jitter: colliding processes fall out of step
    }
  }
}

/**
 * Opens the index: busy timeout first (it governs everything after), then WAL, with retries.
 * @internal
 */
export function openIndex(dir: string): Database.Database {
  const db = new Database(join(dir, INDEX_FILE), { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    retryBusy(() => db.pragma("journal_mode = WAL"));
    db.pragma("synchronous = NORMAL");
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** True when an earlier operation found the index damaged. */
export function markedDamaged(dir: string): boolean {
  return existsSync(join(dir, DAMAGED_MARKER));
}

/**
 * Moves a damaged index aside (`index.sqlite.damaged-<time>`, kept for diagnosis) and removes the
 * blobs its rows pointed to, so the next open starts an empty, consistent cache.
 */
export function setIndexAside(dir: string): string {
  const aside = join(dir, `${INDEX_FILE}.damaged-${Date.now()}`);
  if (existsSync(join(dir, INDEX_FILE))) renameSync(join(dir, INDEX_FILE), aside);
  for (const suffix of ["-wal", "-shm"]) rmSync(join(dir, INDEX_FILE + suffix), { force: true });
  rmSync(join(dir, "blobs"), { recursive: true, force: true });
  rmSync(join(dir, DAMAGED_MARKER), { force: true });
  process.emitWarning(
    `lmprobe cache: the index in ${dir} was damaged; ` +
      `it was moved to ${aside} and the cache starts empty (values are recomputed)`,
    { code: "LMPROBE_CACHE_CORRUPT" },
  );
  return aside;
}

/** The CacheError for an SQLite or file-system failure while `action` (e.g. "reading entries"). */
export function cacheFailure(dir: string, action: string, err: unknown): CacheError {
  const what = errorMessage(err);
  const code = codeOf(err);
  let message: string;
  if (isDamaged(err)) {
    try {
      writeFileSync(join(dir, DAMAGED_MARKER), `${new Date().toISOString()} ${what}\n`);
    } catch {
      // read-only folder: the message still says how to recover by hand
    }
    message =
      `The activation cache index ${join(dir, INDEX_FILE)} is damaged (${what}) while ${action}. ` +
      "It is only a cache: the next time it is opened it starts empty (the damaged file is kept aside), " +
      `so rerun the call; or delete the folder ${dir}.`;
  } else if (isBusy(err)) {
    message =
      `The activation cache in ${dir} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s ` +
      `while ${action} (${what}). Wait for the other process, or set LMPROBE_CACHE_DIR to another folder.`;
  } else if (code === "SQLITE_FULL" || code === "ENOSPC") {
    message =
      `The disk holding the activation cache ${dir} is full (while ${action}). ` +
      "Free space, lower LMPROBE_CACHE_MAX_GB, or set LMPROBE_CACHE_DIR elsewhere.";
  } else {
    message =
      `The activation cache in ${dir} failed while ${action}: ${what}. ` +
      "Check that the folder is readable and writable, or set LMPROBE_CACHE_DIR to another one.";
  }
  return new CacheError(dir, message, { cause: err });
}
