/**
 * A runtime's connection to a served worker (`lmprobe worker serve`, TCP + CURVE). The Dealer's
 * socket events tell how the CURVE handshake went, so a wrong key or an absent server fails at
 * once with a {@link WorkerConnectError} naming the fix instead of queueing requests forever
 * (ZeroMQ itself would retry silently). Once connected, a `disconnect` (the server stopped, was
 * killed, or its heartbeats stopped) fails the calls in flight with WorkerExitedError, as a child
 * worker's exit does; the next call connects afresh.
 */
import type { Dealer } from "zeromq";
import { LmprobeError, ProtocolError, TimeoutError, WorkerConnectError, WorkerExitedError } from "../errors.js";
import { PROTOCOL_VERSION } from "../protocol/version.js";
import type { HelloReply } from "../protocol/messages.js";
import { REMOTE_ENV, type RemoteTarget } from "./remote-options.js";
import { RpcClient } from "./rpc-client.js";
import type { WorkerHandle } from "./worker-handle.js";
import type { WorkerExit } from "./worker-process.js";

/** A connection to a served worker, in the shape of the runtime's own connections. */
export interface ServedConnection {
  proc: WorkerHandle;
  rpc: RpcClient;
  info: HelloReply;
  /** Set when this runtime detached because a cancelled request did not stop. */
  killedForCancel: { value: boolean };
}

/**
 * Stand-in for the process of a served worker, on another machine: it "exits" for this runtime
 * when the connection is lost or ended. `kill` and `stop` end this connection only.
 */
class ServedWorker implements WorkerHandle {
  pid: number | undefined;
  hasExited = false;
  readonly exited: Promise<WorkerExit>;
  /** The server's stderr stays on the server. */
  readonly stderrTail = { toString: () => "" };
  /** Set by the connection: fails its calls and closes its socket. */
  detach: (why: string) => void = () => undefined;
  #resolve: ((exit: WorkerExit) => void) | undefined;

  constructor() {
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }

  end(): void {
    if (this.hasExited) return;
    this.hasExited = true;
    this.#resolve?.({ exitCode: null, signal: null, spawnFailed: false });
  }

  /** Detaches at once (a cancelled call that did not stop: the server cancels a gone client's work). */
  kill(): void {
    this.detach("this runtime disconnected: a cancelled call did not stop in time");
  }

  /** Disconnects only: a served worker outlives its clients. */
  stop(): Promise<WorkerExit> {
    this.end();
    return this.exited;
  }

  /** Nothing to hold: the socket's pending receive holds Node's event loop while a call is in flight. */
  holdEventLoop(_hold: boolean): void {}
}

function failure(target: RemoteTarget, reason: WorkerConnectError["reason"]): WorkerConnectError {
  const at = target.endpoint;
  const messages: Record<WorkerConnectError["reason"], string> = {
    refused:
      `The served worker at ${at} refused this client: its allow-list does not hold this client's public key ` +
      `${target.publicKey}. Add that key to the server's --allow file, or connect with a listed key pair ` +
      `(connect.secretKey / ${REMOTE_ENV.secretKey}).`,
    "server-key":
      `The CURVE handshake with ${at} failed: serverPublicKey is not the key of the worker served there ` +
      "(or it is not an `lmprobe worker serve` endpoint). Use the server public key that `lmprobe worker serve` " +
      "printed (server.key in its key folder).",
    unreachable:
      `Nothing is listening at ${at}: start the worker there with \`lmprobe worker serve --bind tcp://HOST:PORT\`, ` +
      "and check the host, the port and any firewall between.",
    timeout:
      `No CURVE handshake with ${at} within ${target.connectTimeoutMs} ms: check that a worker is served there ` +
      "(`lmprobe worker serve`) and that the network lets the port through (or raise connect.connectTimeoutMs).",
  };
  return new WorkerConnectError(at, reason, messages[reason]);
}

/** Watches the handshake from the first event on; `lost` fires on a disconnect after it succeeded. */
function watchHandshake(dealer: Dealer, target: RemoteTarget, lost: () => void): Promise<void> {
  let state: "connecting" | "up" | "down" = "connecting";
  let reached = false;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail("timeout"), target.connectTimeoutMs);
    const fail = (reason: WorkerConnectError["reason"]) => {
      if (state !== "connecting") return;
      state = "down";
      clearTimeout(timer);
      reject(failure(target, reason));
    };
    const events = dealer.events;
    events.on("connect", () => (reached = true));
    events.on("handshake", () => {
      if (state !== "connecting") return;
      state = "up";
      clearTimeout(timer);
      resolve();
    });
    events.on("handshake:error:auth", () => fail("refused"));
    events.on("handshake:error:protocol", () => fail("server-key"));
    events.on("handshake:error:other", () => fail("server-key"));
    events.on("connect:retry", () => {
      if (!reached) fail("unreachable");
    });
    events.on("disconnect", () => {
      if (state === "connecting") fail("server-key");
      else if (state === "up") {
        state = "down";
        lost();
      }
    });
  });
}

/**
 * Connects to the served worker of `target` and completes the `hello` handshake.
 * @throws {WorkerConnectError} refused key, wrong server key, nothing listening, or no handshake in time.
 */
export async function connectServedWorker(
  target: RemoteTarget,
  settings: { cancelGraceMs?: number; startTimeoutMs: number; onGone: () => void },
): Promise<ServedConnection> {
  const proc = new ServedWorker();
  let handshake: Promise<void> = Promise.resolve();
  proc.detach = (why: string) => {
    if (proc.hasExited) return;
    const at = `the served worker at ${target.endpoint} (pid ${proc.pid ?? "?"})`;
    rpc.failAll(() => new WorkerExitedError(`${why}: ${at}. The next call connects again.`, null, null, ""));
    rpc.close();
    proc.end();
    settings.onGone();
  };
  const lost = () =>
    proc.detach("The connection was lost (the server stopped, was killed, or the network dropped: no heartbeat)");
  const rpc: RpcClient = new RpcClient(target.endpoint, settings.cancelGraceMs, {
    options: target.socketOptions(),
    beforeConnect: (dealer) => (handshake = watchHandshake(dealer, target, lost)),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await handshake;
    const limit = settings.startTimeoutMs;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`The served worker's hello at ${target.endpoint}`, limit)),
        limit,
      );
    });
    const info = await Promise.race([rpc.call("hello", {}), timeout]);
    if (info.protocol !== PROTOCOL_VERSION)
      throw new ProtocolError(
        `the worker at ${target.endpoint} speaks protocol ${info.protocol}, this SDK speaks ${PROTOCOL_VERSION}: ` +
          "install the same lmprobe-ts version on both machines",
      );
    proc.pid = info.pid;
    const killedForCancel = { value: false };
    rpc.onCancelStuck = () => {
      killedForCancel.value = true;
      proc.kill();
    };
    return { proc, rpc, info, killedForCancel };
  } catch (err) {
    rpc.close();
    proc.end();
    if (err instanceof LmprobeError) throw err;
    throw new WorkerConnectError(target.endpoint, "unreachable", `Cannot reach ${target.endpoint}: ${String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}
