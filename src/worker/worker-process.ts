/**
 * One Python worker process: spawn (execa), read the endpoint it announces, keep the tail of its
 * stderr for error messages, and stop it with the shutdown ladder (stdin EOF → SIGTERM → SIGKILL).
 */
import { createInterface } from "node:readline";
import type { ResultPromise, execa as Execa } from "execa";
import { loadExeca } from "../internal/lazy-execa.js";
import { WORKER_PYTHONPATH } from "../env/paths.js";
import { WorkerStartError } from "../errors.js";
import { isRecord } from "../internal/unknown-values.js";
import { removeSocketFolder } from "./socket-folder.js";

/** How a worker process ended. */
export interface WorkerExit {
  exitCode: number | null;
  signal: string | null;
  /** The interpreter could not be run at all (e.g. the path does not exist). */
  spawnFailed: boolean;
}

/** Keeps the last lines a stream produced. */
export class LineTail {
  private readonly lines: string[] = [];
  constructor(private readonly max = 50) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  toString(): string {
    return this.lines.join("\n");
  }
}

/**
 * How the interpreter is started: isolated (`-I`: no current directory, no PYTHONPATH, no user
 * site-packages on sys.path), then the worker's own package folder is put first and the package
 * runs under the name `__main__`. Without this, `python -m` puts the caller's working directory first, and a
 * `msgpack.py` or `torch.py` lying there would be imported and run by the worker.
 */
export function workerArgs(): string[] {
  const bootstrap =
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); runpy.run_module('lmprobe_worker', run_name='__main__')";
  return ["-I", "-u", "-c", bootstrap, WORKER_PYTHONPATH];
}

/** A started worker process that has announced its endpoint. */
export class WorkerProcess {
  readonly stderrTail = new LineTail();
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<WorkerExit>;
  endpoint = "";
  pid: number | undefined;
  private readonly child: ResultPromise<{
    stdin: "pipe";
    stdout: "pipe";
    stderr: "pipe";
    reject: false;
    buffer: false;
  }>;
  private done = false;

  private constructor(execa: typeof Execa, python: string, env: Record<string, string>, args: string[]) {
    this.child = execa(python, args, {
      env,
      stdin: "pipe", // kept open: the worker exits on EOF, i.e. when this process dies
      stdout: "pipe",
      stderr: "pipe",
      reject: false,
      buffer: false,
      cleanup: true,
      forceKillAfterDelay: 2000,
    });
    this.pid = this.child.pid;
    createInterface({ input: this.child.stderr }).on("line", (line) => this.stderrTail.push(line));
    this.exited = this.child.then(
      (r) => ({
        exitCode: r.exitCode ?? null,
        signal: r.signal ?? null,
        spawnFailed: r.exitCode === undefined && !r.signal,
      }),
      () => ({ exitCode: null, signal: null, spawnFailed: true }),
    );
    void this.exited.then(() => {
      this.done = true;
      removeSocketFolder(this.endpoint);
    });
  }

  /** True once the process has exited. */
  get hasExited(): boolean {
    return this.done;
  }

  /**
   * Spawns the worker (`python ARGS`, ARGS {@link workerArgs} unless given) and waits for its
   * `{"event":"listening"}` line.
   */
  static async spawn(
    python: string,
    options: { env?: Record<string, string>; timeoutMs: number; args?: string[] },
  ): Promise<WorkerProcess> {
    const env = { ...(options.env ?? {}) };
    const proc = new WorkerProcess(await loadExeca(), python, env, options.args ?? workerArgs());
    const lines = createInterface({ input: proc.child.stdout });
    let timer: NodeJS.Timeout | undefined;
    try {
      proc.endpoint = await new Promise<string>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new WorkerStartError(
                `the Python worker did not announce an endpoint within ${options.timeoutMs} ms`,
                proc.stderrTail.toString(),
              ),
            ),
          options.timeoutMs,
        );
        lines.on("line", (line) => {
          try {
            const msg: unknown = JSON.parse(line);
            if (isRecord(msg) && msg.event === "listening" && typeof msg.endpoint === "string") resolve(msg.endpoint);
          } catch {
            proc.stderrTail.push(`[stdout] ${line}`);
          }
        });
        void proc.exited.then((exit) => {
          const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`;
          reject(
            new WorkerStartError(
              exit.spawnFailed
                ? `could not run the Python interpreter ${python}`
                : `the Python worker exited during start-up (${how}) using ${python}`,
              proc.stderrTail.toString(),
            ),
          );
        });
      });
    } catch (err) {
      proc.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    // Node exiting with the worker still running (a script without close()): its EOF-triggered
    // exit may lose the race with execa's SIGTERM, so the socket folder is removed from here too.
    const onParentExit = () => removeSocketFolder(proc.endpoint);
    process.once("exit", onParentExit);
    void proc.exited.then(() => process.off("exit", onParentExit));
    // Stray stdout lines after start-up (prints in user code) go to the stderr tail for diagnosis.
    lines.removeAllListeners("line");
    lines.on("line", (line) => proc.stderrTail.push(`[stdout] ${line}`));
    return proc;
  }

  /**
   * Lets Node exit while the worker idles (`false`), or holds Node while a call runs (`true`), as
   * execa/undici do with idle resources: the child handle and its three pipes are (un)ref'd. An
   * unref'd worker still dies with this process: its stdin reaches EOF when Node exits.
   */
  holdEventLoop(hold: boolean): void {
    if (this.done) return;
    // The pipes are net.Sockets at run time (typed as plain streams): they carry ref/unref.
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr]) {
      if (isRefable(h)) {
        if (hold) h.ref();
        else h.unref();
      }
    }
  }

  /** Kills the process at once. */
  kill(): void {
    if (!this.done) this.child.kill("SIGKILL");
  }

  /** Closes stdin (the worker exits on EOF), then escalates to SIGTERM and SIGKILL. */
  async stop(graceMs = 2000): Promise<WorkerExit> {
    if (!this.done) {
      this.holdEventLoop(true); // close() awaits the exit: Node must not exit before it resolves
      this.child.stdin.end();
      const timedOut = Symbol("timeout");
      const wait = (ms: number) =>
        Promise.race([this.exited, new Promise<typeof timedOut>((r) => setTimeout(r, ms, timedOut).unref())]);
      if ((await wait(graceMs)) === timedOut) {
        this.child.kill("SIGTERM");
        if ((await wait(graceMs)) === timedOut) this.child.kill("SIGKILL");
      }
    }
    return this.exited;
  }
}

/** A handle that can hold or release Node's event loop (child processes, sockets, timers). */
function isRefable(h: unknown): h is { ref(): unknown; unref(): unknown } {
  return (
    typeof h === "object" &&
    h !== null &&
    "ref" in h &&
    typeof h.ref === "function" &&
    "unref" in h &&
    typeof h.unref === "function"
  );
}
