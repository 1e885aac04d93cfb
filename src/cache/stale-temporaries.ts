/**
 * Blob files are written as `<name>.tmp-<pid>` and renamed into place. A write that failed (a full
 * disk) removes its temporary at once; one whose process was killed cannot, so `cache prune`
 * sweeps the temporaries of processes that no longer exist.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { alive } from "../internal/lock.js";

const TEMP = /\.tmp-(\d+)$/;

/** The temporary name a blob is written under before its rename. */
export const blobTempName = (path: string) => `${path}.tmp-${process.pid}`;

/**
 * Removes `*.tmp-<pid>` files under `blobsDir` whose writer is gone (or is this process, whose
 * writes are synchronous and so never in flight here). Returns how many were removed.
 */
export function removeStaleTemporaries(blobsDir: string): number {
  let removed = 0;
  let entries: import("node:fs").Dirent[] = [];
  try {
    entries = readdirSync(blobsDir, { recursive: true, withFileTypes: true });
  } catch {
    return 0; // no blobs folder yet
  }
  for (const entry of entries) {
    const pid = TEMP.exec(entry.name)?.[1];
    if (!entry.isFile() || pid === undefined) continue;
    if (Number(pid) !== process.pid && alive(Number(pid))) continue; // another process is writing it
    rmSync(join(entry.parentPath, entry.name), { force: true });
    removed++;
  }
  return removed;
}
