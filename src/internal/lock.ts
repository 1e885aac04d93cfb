/**
 * A cross-process lock made of an atomic `mkdir`, for steps that two processes must not run at
 * once (installing the venv, converting an embedded model). A lock whose owner died is taken over.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { errorCode } from "./unknown-values.js";

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === "EPERM";
  }
}

/** Runs `fn` while holding the lock folder `path`, waiting (polling) while another process holds it. */
export async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if (errorCode(err) !== "EEXIST") throw err;
      const owner = Number.parseInt(await readFile(join(path, "pid"), "utf8").catch(() => ""), 10);
      if (Number.isInteger(owner) && !alive(owner)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      await sleep(250);
    }
  }
  try {
    await writeFile(join(path, "pid"), String(process.pid));
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
