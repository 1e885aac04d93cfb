/**
 * A runtime's view of a shared daemon: not a child it can kill or wait on, only a pid. While a
 * call is in flight the pid is watched (a daemon killed -9 sends nothing: the socket would just
 * wait), so the call fails with WorkerExitedError within a tenth of a second, not after a
 * heartbeat timeout. While idle nothing runs, so a script that forgot close() still exits.
 * `kill()` and `stop()` end this session only: the daemon serves other clients on.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { pidAlive } from "./pid-alive.js";
import type { WorkerHandle } from "./worker-handle.js";
import type { WorkerExit } from "./worker-process.js";

const WATCH_MS = 100;

/** The last `maxBytes` of a log file (the daemon's stderr), for error messages. */
export function logTail(path: string, maxBytes = 4000): string {
  try {
    const size = statSync(path).size;
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(Math.min(size, maxBytes));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

/** A daemon this runtime is attached to. */
export class DaemonHandle implements WorkerHandle {
  readonly exited: Promise<WorkerExit>;
  /** Set when the daemon itself died (not when this runtime detached). */
  died = false;
  private done = false;
  private finish!: (exit: WorkerExit) => void;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    readonly pid: number,
    private readonly logPath: string,
  ) {
    this.exited = new Promise((resolve) => {
      this.finish = (exit) => {
        if (this.done) return;
        this.done = true;
        clearInterval(this.watch);
        resolve(exit);
      };
    });
  }

  get hasExited(): boolean {
    return this.done;
  }

  /** The tail of the daemon's log (read when an error message needs it). */
  get stderrTail(): { toString(): string } {
    return { toString: () => logTail(this.logPath) };
  }

  /** Watches the pid while a call is in flight (checked at once: it may have died while idle). */
  holdEventLoop(hold: boolean): void {
    clearInterval(this.watch);
    this.watch = undefined;
    if (!hold || this.done) return;
    this.check();
    if (this.done) return;
    this.watch = setInterval(() => this.check(), WATCH_MS);
  }

  private check(): void {
    if (pidAlive(this.pid)) return;
    this.died = true;
    this.finish({ exitCode: null, signal: null, spawnFailed: false });
  }

  /** Detaches this runtime (its socket closes, so the daemon cancels its work); the daemon lives on. */
  kill(): void {
    this.finish({ exitCode: null, signal: null, spawnFailed: false });
  }

  stop(): Promise<WorkerExit> {
    this.kill();
    return this.exited;
  }
}
