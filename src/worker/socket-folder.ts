/**
 * The worker listens on `ipc://<tmp>/lmprobe-XXXX/w.sock`, a private folder it makes itself and
 * removes on exit. An exit can cut that cleanup short (SIGKILL, or stdin EOF racing its shutdown),
 * so the parent removes the folder too once the process is gone.
 */
import { rmdirSync, rmSync } from "node:fs";
import { basename, dirname } from "node:path";

/** Removes the socket and its folder, if `endpoint` is one the worker made (never a user's path). */
export function removeSocketFolder(endpoint: string): void {
  if (!endpoint.startsWith("ipc://")) return;
  const path = endpoint.slice("ipc://".length);
  if (basename(path) !== "w.sock" || !basename(dirname(path)).startsWith("lmprobe-")) return;
  try {
    rmSync(path, { force: true });
    rmdirSync(dirname(path)); // non-recursive: a folder with anything else in it is not ours to delete
  } catch {
    // already removed by the worker, or not ours
  }
}
