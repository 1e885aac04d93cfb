/**
 * A runtime's connection to its own child worker: spawn `python -m lmprobe_worker`, wire the RPC
 * client to the process (a dead process fails the calls in flight; a cancel that does not stop
 * kills it), and complete the `hello` handshake within the start timeout. The choice between a
 * served worker, the daemon and a child, and of the interpreter, stays in python-runtime.ts.
 */
import { LmprobeError, ProtocolError, TimeoutError, WorkerExitedError, WorkerStartError } from "../errors.js";
import type { HelloReply } from "../protocol/messages.js";
import { PROTOCOL_VERSION } from "../protocol/version.js";
import type { ProgressEvent } from "../types.js";
import { errorMessage } from "../internal/unknown-values.js";
import { RpcClient } from "./rpc-client.js";
import { emit } from "./runtime-util.js";
import type { WorkerHandle } from "./worker-handle.js";
import { WorkerProcess } from "./worker-process.js";

/** A live connection of a runtime: a child worker, the daemon, or a served worker. */
export interface WorkerConnection {
  proc: WorkerHandle;
  rpc: RpcClient;
  info: HelloReply;
  /** Set when the runtime killed the worker because a cancelled request did not stop. */
  killedForCancel: { value: boolean };
}

/** How to start a child worker. */
export interface ChildSettings {
  /** The interpreter, already checked by `ensurePythonEnv`. */
  python: string;
  /** The worker's whole environment. */
  env: Record<string, string>;
  /** Limit for spawn + handshake. */
  timeoutMs: number;
  /** Interpreter arguments instead of the worker's (fake-worker tests). */
  workerArgs?: string[] | undefined;
  /** After an abort, how long a request may run before the worker is killed. */
  cancelGraceMs?: number | undefined;
}

/** Spawns a child worker and completes its handshake; `onExit` runs once the process is gone. */
export async function startChildWorker(
  settings: ChildSettings,
  onProgress: ((e: ProgressEvent) => void) | undefined,
  onExit: () => void,
): Promise<WorkerConnection> {
  const { python, timeoutMs } = settings;
  emit(onProgress, { type: "worker", phase: "starting" });
  const proc = await WorkerProcess.spawn(python, {
    env: settings.env,
    timeoutMs,
    ...(settings.workerArgs ? { args: settings.workerArgs } : {}),
  });
  const rpc = new RpcClient(proc.endpoint, settings.cancelGraceMs);
  const killedForCancel = { value: false };
  rpc.onCancelStuck = () => {
    killedForCancel.value = true;
    proc.kill();
  };
  // Idle workers must not keep a script alive that forgot close(); calls in flight must.
  rpc.onBusyChange = (busy) => proc.holdEventLoop(busy);
  void proc.exited.then((exit) => {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    rpc.failAll(
      () =>
        new WorkerExitedError(
          `The Python worker (pid ${proc.pid}) ${how}; the next call starts a fresh worker.`,
          exit.exitCode,
          exit.signal,
          proc.stderrTail.toString(),
        ),
    );
    rpc.close();
    onExit();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const hello = rpc.call("hello", {});
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError("The Python worker's handshake", timeoutMs)), timeoutMs);
    });
    const info = await Promise.race([hello, timeout]);
    if (info.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError(
        `the worker speaks protocol ${info.protocol}, this SDK speaks ${PROTOCOL_VERSION}: reinstall lmprobe-ts`,
        proc.stderrTail.toString(),
      );
    }
    emit(onProgress, { type: "worker", phase: "ready", pid: info.pid });
    return { proc, rpc, info, killedForCancel };
  } catch (err) {
    rpc.close();
    proc.kill();
    if (err instanceof LmprobeError && !(err instanceof WorkerExitedError)) throw err;
    throw new WorkerStartError(
      `The Python worker failed to start with ${python}: ${errorMessage(err)}`,
      proc.stderrTail.toString(),
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The worker has no authentication of its own: an inherited `LMPROBE_WORKER_ENDPOINT=tcp://...`
 * would let any local user (or host) that reaches the port drive it. Refused here, before Python
 * starts (the worker refuses it again, and also an ipc:// socket in a folder others can enter).
 */
export function refuseOpenEndpoint(endpoint: string | undefined): void {
  if (endpoint && !endpoint.startsWith("ipc://")) {
    throw new WorkerStartError(
      `LMPROBE_WORKER_ENDPOINT=${endpoint} is refused: a child worker serves only private ipc:// endpoints, ` +
        "because on TCP anyone who reaches the port could drive it. Unset LMPROBE_WORKER_ENDPOINT; for a worker on " +
        "TCP with CURVE keys, run `lmprobe worker serve --bind tcp://HOST:PORT` and connect with the `connect` " +
        "option (or LMPROBE_WORKER_CONNECT).",
      "",
    );
  }
}
