/**
 * How a PythonRuntime attaches to a running daemon instead of spawning a child worker: read and
 * check the discovery file, connect, ping (a live, answering daemon), hello (the protocol), and
 * wire the daemon's death to the runtime's calls. Any problem means "no daemon": the runtime then
 * starts its child worker as before; a file it refuses for safety is reported with a warning.
 */
import { TimeoutError, WorkerExitedError } from "../errors.js";
import type { HelloReply } from "../protocol/messages.js";
import { PROTOCOL_VERSION } from "../protocol/version.js";
import type { ProgressEvent } from "../types.js";
import { errorMessage } from "../internal/unknown-values.js";
import { readDiscovery } from "./daemon-discovery.js";
import { daemonDir, daemonFiles, wantsDaemon, type DaemonChoice } from "./daemon-paths.js";
import { DaemonHandle } from "./daemon-handle.js";
import { RpcClient } from "./rpc-client.js";
import { raySettingsOf, sameRay } from "./ray-settings.js";

/** A connection to a daemon, in the shape of the runtime's own connections. */
export interface DaemonConnection {
  proc: DaemonHandle;
  rpc: RpcClient;
  info: HelloReply;
  killedForCancel: { value: boolean };
}

/** The runtime options that matter here. */
export interface AttachOptions extends DaemonChoice {
  cancelGraceMs?: number | undefined;
  startTimeoutMs?: number | undefined;
  /** The runtime's checked `LMPROBE_RAY_*` variables: it then uses only a daemon of that cluster. */
  rayEnv?: Record<string, string> | undefined;
}

/** How long a daemon that the discovery file names may take to answer a ping. */
const PING_TIMEOUT_MS = 5000;

const warned = new Set<string>();

/** Warns once per process and message (a stale file would otherwise warn on every runtime). */
export function warnDaemon(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(`lmprobe: ${message}; using a child worker instead.`, { code: "LMPROBE_DAEMON_IGNORED" });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A connection to this user's daemon, or undefined when there is none the runtime may use.
 * `onExit` runs when an established connection ends (the daemon died or the runtime detached).
 */
export async function attachDaemon(
  options: AttachOptions,
  onProgress: ((e: ProgressEvent) => void) | undefined,
  onExit: () => void,
): Promise<DaemonConnection | undefined> {
  if (!wantsDaemon(options)) return undefined;
  const dir = daemonDir();
  const found = readDiscovery(dir);
  if (!found.ok) {
    if (found.problem !== "missing") warnDaemon(found.message);
    return undefined;
  }
  // Without Ray, any daemon will do (a Ray daemon runs the local path's batches: the same activations,
  // bit for bit at equal torch threads); a runtime that names a cluster wants that cluster and actor
  // count, else its own child worker.
  if (options.rayEnv && !sameRay(raySettingsOf(options.rayEnv), found.info.ray)) return undefined;
  const { pid, endpoint } = found.info;
  const proc = new DaemonHandle(pid, daemonFiles(dir).log);
  const rpc = new RpcClient(endpoint, options.cancelGraceMs);
  const killedForCancel = { value: false };
  // A cancelled call that does not stop: this runtime detaches (closing its socket makes the
  // daemon cancel all of its work) instead of killing a worker other clients share.
  rpc.onCancelStuck = () => {
    killedForCancel.value = true;
    proc.kill();
  };
  rpc.onBusyChange = (busy) => proc.holdEventLoop(busy);
  let established = false;
  void proc.exited.then(() => {
    rpc.failAll(
      () =>
        new WorkerExitedError(
          proc.died
            ? `The lmprobe daemon (pid ${pid}) exited during this call; the next call starts a fresh worker ` +
                `(its log: ${daemonFiles(dir).log}).`
            : "This runtime detached from the lmprobe daemon (a cancelled call did not stop).",
          null,
          null,
          proc.died ? proc.stderrTail.toString() : "",
        ),
    );
    rpc.close();
    if (established) onExit();
  });
  try {
    onProgress?.({ type: "worker", phase: "starting" });
    await withTimeout(rpc.request("ping"), PING_TIMEOUT_MS, `The lmprobe daemon's ping (pid ${pid})`);
    // hello queues behind other clients' work: allowed the runtime's start timeout.
    const info = await withTimeout(
      rpc.call("hello", {}),
      options.startTimeoutMs ?? 180_000,
      `The lmprobe daemon's handshake (pid ${pid})`,
    );
    if (info.protocol !== PROTOCOL_VERSION) throw new Error(`it speaks protocol ${info.protocol}`);
    if (proc.hasExited) throw new Error("it exited during the handshake");
    established = true;
    onProgress?.({ type: "worker", phase: "ready", pid: info.pid });
    return { proc, rpc, info, killedForCancel };
  } catch (err) {
    proc.kill();
    warnDaemon(`the lmprobe daemon of ${found.path} (pid ${pid}) did not answer (${errorMessage(err)})`);
    return undefined;
  }
}
