/** Whether a process id names a running process (a zombie counts as gone). */
import { readFileSync } from "node:fs";

/**
 * True while `pid` runs. `kill(pid, 0)` tests existence without signalling (EPERM: it exists but
 * belongs to someone else). A daemon killed -9 whose parent never reaps it stays a zombie, which
 * `kill(pid, 0)` still finds: on Linux the state in /proc/PID/stat settles it.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false; // gone between the two checks
  }
}
