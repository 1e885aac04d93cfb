/**
 * What a PythonRuntime needs of the worker behind its socket: a child process it owns
 * (WorkerProcess) or a shared daemon it only attaches to (DaemonHandle, which never kills the
 * daemon: its `kill` and `stop` end this client's session only).
 */
import type { WorkerExit } from "./worker-process.js";

/** The worker a runtime's connection talks to. */
export interface WorkerHandle {
  /** The worker's process id. */
  readonly pid: number | undefined;
  /** Resolves when the worker is gone for this runtime (exited, killed, or detached). */
  readonly exited: Promise<WorkerExit>;
  /** True once `exited` has resolved. */
  readonly hasExited: boolean;
  /** The last lines of the worker's stderr (or log), for error messages. */
  readonly stderrTail: { toString(): string };
  /** Ends the worker (a child) or this session with it (a daemon) at once. */
  kill(): void;
  /** Ends it gracefully. */
  stop(): Promise<WorkerExit>;
  /** Holds Node's event loop while a call is in flight (true) and releases it when idle (false). */
  holdEventLoop(hold: boolean): void;
}
