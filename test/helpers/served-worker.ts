/**
 * `lmprobe worker serve` run as users run it (the built CLI in a child process), on loopback with
 * port 0 (the system picks a free port, announced back). Tests stop it by pid, both the CLI and
 * its Python worker, even when a test failed.
 */
import { execa } from "execa";

const CLI = new URL("../../dist/cli/main.js", import.meta.url).pathname;

/** A served worker started for a test. */
export interface ServedWorker {
  endpoint: string;
  serverPublicKey: string;
  /** The Python worker's pid (what clients' `runtime.pid()` reports). */
  pid: number;
  /** The CLI's pid. */
  cliPid: number;
  /** Everything the CLI printed so far (stdout and the worker's stderr). */
  output: () => string;
  /** Resolves when the CLI has exited. */
  exited: Promise<unknown>;
  /** SIGKILLs the worker and the CLI, whichever still runs. */
  kill: () => void;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts `lmprobe worker serve --bind tcp://127.0.0.1:0 ARGS...` and waits for its announcement. */
export async function serveWorker(args: string[], env: Record<string, string> = {}): Promise<ServedWorker> {
  const child = execa("node", [CLI, "worker", "serve", "--bind", "tcp://127.0.0.1:0", ...args], {
    reject: false,
    env,
    stdin: "ignore",
    buffer: false,
  });
  let text = "";
  let workerPid: number | undefined;
  const kill = () => {
    for (const pid of [workerPid, child.pid]) if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL");
  };
  const exited = child.then(() => undefined);
  try {
    return await new Promise<ServedWorker>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no announcement within 180 s:\n${text}`)), 180_000);
      const take = (chunk: Buffer) => {
        text += chunk.toString();
        const head = /serving on (tcp:\/\/\S+) \(pid (\d+)\)/.exec(text);
        const key = /server public key: (\S{40})/.exec(text);
        if (head) workerPid = Number(head[2]);
        if (head && key) {
          clearTimeout(timer);
          resolve({
            endpoint: head[1]!,
            serverPublicKey: key[1]!,
            pid: Number(head[2]),
            cliPid: child.pid!,
            output: () => text,
            exited,
            kill,
          });
        }
      };
      child.stdout!.on("data", take);
      child.stderr!.on("data", take);
      void exited.then(() => reject(new Error(`lmprobe worker serve exited:\n${text}`)));
    });
  } catch (err) {
    kill();
    throw err;
  }
}
