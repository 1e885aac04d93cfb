/**
 * A live connection of a {@link PythonRuntime} to a worker: a child process it spawned, or a
 * served worker it reached over TCP (remote-connection.ts). The runtime only needs the worker's
 * exit (to drop the connection and resend what never ran) and a way to stop using it.
 */
import type { HelloReply } from "../protocol/messages.js";
import type { RpcClient } from "./rpc-client.js";
import type { WorkerExit } from "./worker-process.js";

/** The process side of a connection: a WorkerProcess, or the stand-in of a served worker. */
export interface WorkerHandle {
  /** The worker's pid (a served worker's is on another machine, as its hello reported it). */
  readonly pid: number | undefined;
  /** Resolves when the worker is gone (exited, or the connection to a served worker dropped). */
  readonly exited: Promise<WorkerExit>;
  readonly hasExited: boolean;
  /** Ends this connection: stops a child worker; only disconnects from a served one. */
  stop(): Promise<WorkerExit>;
}

/** What a runtime holds while connected. */
export interface Connection {
  proc: WorkerHandle;
  rpc: RpcClient;
  info: HelloReply;
  /** Set when the runtime killed the worker because a cancelled request did not stop. */
  killedForCancel: { value: boolean };
}
