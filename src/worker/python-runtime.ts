/**
 * PythonRuntime: the handle on one worker process, shareable by several probes. It starts the
 * worker lazily (Python environment check, spawn, `hello` handshake), forwards requests, and
 * replaces a worker that died: the call in flight fails with WorkerExitedError, the next call
 * gets a fresh worker. A call the dead worker never ran is resent to a fresh worker instead:
 * one it never acknowledged, or one queued behind a cancelled request the runtime itself killed
 * the worker for (the user aborted that one; this one is a bystander).
 */
import { AbortError, InvalidOptionError, WorkerExitedError } from "../errors.js";
import { ensurePythonEnv } from "../env/python-env.js";
import type { HelloReply, Reply, Request, RpcName } from "../protocol/messages.js";
import { progressFromWire } from "../protocol/progress.js";
import type { WireBody } from "../protocol/wire-values.js";
import type { ProgressEvent } from "../types.js";
import type { RequestOptions } from "./rpc-client.js";
import { refuseOpenEndpoint, startChildWorker, type WorkerConnection } from "./child-connection.js";
import { attachDaemon } from "./daemon-attach.js";
import { checkDaemonOption, type DaemonMode } from "./daemon-paths.js";
import { definedEntries, emit } from "./runtime-util.js";
import { connectServedWorker } from "./remote-connection.js";
import { remoteTarget, type RemoteConnectOptions, type RemoteTarget } from "./remote-options.js";
import { rayWorkerEnv, type RayOptions } from "./ray-options.js";
import { withRayEnv, type RaySettings } from "./ray-settings.js";
import { ensureRay } from "../env/ray-env.js";

/** What the worker reports about itself in the handshake. */
export type WorkerInfo = HelloReply;

/** Options of {@link PythonRuntime}. */
export interface PythonRuntimeOptions {
  /**
   * Use this interpreter unchanged (checked for the worker's packages).
   * Default: `LMPROBE_PYTHON`, else the managed venv.
   */
  pythonPath?: string;
  /** Extra environment variables for the worker process. */
  env?: Record<string, string>;
  /** Limit for spawn + handshake (importing torch is slow on a cold disk). @default 180000 */
  startTimeoutMs?: number;
  /** After an abort, how long a request may keep running before its worker is killed. @default 5000 */
  cancelGraceMs?: number;
  /**
   * How long an extraction waits for concurrent ones of the same model, layers and settings to
   * share its request (64 concurrent one-prompt predictions then run as one batch). 0 turns it off.
   * @default 3
   */
  coalesceMs?: number;
  /**
   * Interpreter arguments instead of the worker's (`workerArgs()` in worker-process.ts): the
   * fake-worker tests (test/worker/) run scripts that speak or mis-speak the protocol through the
   * real runtime.
   * @internal
   */
  workerArgs?: string[];
  /**
   * A served worker (`lmprobe worker serve --bind tcp://HOST:PORT`) instead of a child process,
   * reached over TCP with CURVE. Default: the `LMPROBE_WORKER_CONNECT` / `LMPROBE_WORKER_SERVER_KEY`
   * / `LMPROBE_WORKER_SECRET_KEY` variables (README "Remote workers"), else a local child worker.
   */
  connect?: RemoteConnectOptions;
  /**
   * `"auto"`: use this user's running daemon (`lmprobe worker start`) when there is one and the
   * runtime sets no `pythonPath`, `env` or `workerArgs`; `"off"`: always a child worker.
   * @default `LMPROBE_DAEMON` ("off" turns it off), else "auto"
   */
  daemon?: DaemonMode;
  /**
   * Shard extractions over a Ray cluster's actors (README "Scale-out on Ray"). A runtime with `ray`
   * uses only a daemon started with the same cluster and actors (`lmprobe worker start --ray`); one
   * without uses any daemon, Ray-backed or not (the activations are the same).
   * @default `LMPROBE_RAY_ADDRESS`
   */
  ray?: RayOptions;
}

/** Per-call settings of {@link PythonRuntime.call}. */
export interface CallSettings {
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

type Connection = WorkerConnection;

/** A managed Python worker process. Close it with `close()` or `await using`. */
export class PythonRuntime implements AsyncDisposable {
  private connection: Promise<Connection> | undefined;
  private closing: Promise<void> | undefined;
  private readonly options: PythonRuntimeOptions;
  private readonly served: RemoteTarget | undefined;
  private readonly rayEnv: Record<string, string> | undefined;
  /** The cluster the connected worker reported in its `hello` (undefined until one answered). */
  private workerRay: RaySettings | null | undefined;

  /**
   * @throws {InvalidOptionError} `INVALID_OPTION` when `coalesceMs` is not a number ≥ 0, or `connect`
   *   (or its environment variables) is malformed: checked here, before anything connects.
   */
  constructor(options: PythonRuntimeOptions = {}) {
    const ms = options.coalesceMs;
    if (ms !== undefined && (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0))
      throw new InvalidOptionError(
        "coalesceMs",
        `coalesceMs must be a number of milliseconds ≥ 0 (0 turns coalescing off), got ${String(ms)}.`,
      );
    checkDaemonOption(options.daemon);
    this.options = options;
    this.served = remoteTarget(options.connect, { ...process.env, ...options.env });
    this.rayEnv = rayWorkerEnv(options.ray, { ...process.env, ...options.env }, this.served !== undefined);
  }

  /** The `tcp://` endpoint of the served worker this runtime uses, or undefined for a child worker. */
  get servedEndpoint(): string | undefined {
    return this.served?.endpoint;
  }

  /**
   * Ray actors this runtime's worker shards over: what the worker (a daemon or served worker
   * included) reported once it answered, else `ray.workers`; 1 without Ray or when unset.
   */
  get rayWorkers(): number {
    return this.workerRay?.workers ?? Number(this.rayEnv?.LMPROBE_RAY_WORKERS ?? 1);
  }

  /** The coalescing window of extractions, in milliseconds (0: off). */
  get coalesceMs(): number {
    return this.options.coalesceMs ?? 3;
  }

  /** Starts a runtime and waits until its worker is ready. */
  static async start(
    options: PythonRuntimeOptions = {},
    onProgress?: (e: ProgressEvent) => void,
  ): Promise<PythonRuntime> {
    const runtime = new PythonRuntime(options);
    await runtime.ready(onProgress);
    return runtime;
  }

  /** An environment variable the way the worker sees it (this runtime's `env`, else `process.env`). */
  envValue(name: string): string | undefined {
    return this.options.env?.[name] ?? process.env[name];
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Starts the worker if needed and returns its handshake info. */
  async ready(onProgress?: (e: ProgressEvent) => void): Promise<WorkerInfo> {
    return (await this.connect(onProgress)).info;
  }

  /** Starts the worker in the background (e.g. while TypeScript validates and reads files). */
  prewarm(onProgress?: (e: ProgressEvent) => void): void {
    this.connect(onProgress).catch(() => undefined); // the error resurfaces on the next real call
  }

  private connect(onProgress?: (e: ProgressEvent) => void): Promise<Connection> {
    if (this.closing) return Promise.reject(new WorkerExitedError("the Python runtime is closed", null, null, ""));
    if (!this.connection) {
      const onExit = () => {
        if (this.connection === attempt) this.connection = undefined; // the next call starts afresh
      };
      const attempt: Promise<Connection> = this.served
        ? connectServedWorker(this.served, { ...this.startSettings(), onGone: onExit })
        : this.spawnAndHandshake(onProgress, onExit);
      this.connection = attempt;
      attempt.then(
        (conn) => (this.workerRay = conn.info.ray ?? null),
        () => {
          if (this.connection === attempt) this.connection = undefined;
        },
      );
    }
    return this.connection;
  }

  private startSettings(): { cancelGraceMs?: number; startTimeoutMs: number } {
    const { cancelGraceMs, startTimeoutMs } = this.options;
    return { startTimeoutMs: startTimeoutMs ?? 180_000, ...(cancelGraceMs !== undefined ? { cancelGraceMs } : {}) };
  }

  private async spawnAndHandshake(
    onProgress: ((e: ProgressEvent) => void) | undefined,
    onExit: () => void,
  ): Promise<Connection> {
    const env = withRayEnv({ ...process.env, ...this.options.env }, this.rayEnv);
    refuseOpenEndpoint(env.LMPROBE_WORKER_ENDPOINT);
    const attach = { ...this.options, rayEnv: this.rayEnv }; // a Ray runtime: a daemon of its cluster only
    const daemon = await attachDaemon(attach, onProgress && ((e) => emit(onProgress, e)), onExit);
    if (daemon) return daemon; // else this runtime's own child worker, as without a daemon
    const pyEnv = this.options.pythonPath
      ? await ensurePythonEnv({ env: { ...env, LMPROBE_PYTHON: this.options.pythonPath } })
      : await ensurePythonEnv({ env, ...(onProgress ? { onProgress } : {}) });
    if (this.rayEnv) await ensureRay(pyEnv, onProgress);
    const python = pyEnv.python;
    return startChildWorker(
      {
        python,
        env: definedEntries(env),
        timeoutMs: this.options.startTimeoutMs ?? 180_000,
        workerArgs: this.options.workerArgs,
        cancelGraceMs: this.options.cancelGraceMs,
      },
      onProgress,
      onExit,
    );
  }

  /**
   * Sends RPC `name` to the worker (starting it if needed) and resolves with its typed reply.
   * @internal The RPCs are the worker protocol, not public API.
   */
  async call<K extends RpcName>(name: K, body: Request<K>, options: CallSettings = {}): Promise<Reply<K>> {
    return this.withResend(options, (conn, rpcOptions) => conn.rpc.call(name, body, rpcOptions));
  }

  /**
   * Sends a raw request body (tests speak the protocol directly with it).
   * @internal The request types are the worker protocol, not public API.
   */
  async request(type: string, body: WireBody, options: CallSettings = {}): Promise<WireBody> {
    return this.withResend(options, (conn, rpcOptions) => conn.rpc.request(type, body, rpcOptions));
  }

  private async connectFor(options: CallSettings): Promise<Connection> {
    if (options.signal?.aborted) throw new AbortError({ cause: options.signal.reason });
    return this.connect(options.onProgress);
  }

  /**
   * Runs `send` on the live connection. Resends once, to a fresh worker, a call the dead worker
   * never ran (see the file comment); any other failure is the caller's.
   */
  private async withResend<T>(
    options: CallSettings,
    send: (conn: Connection, rpcOptions: RequestOptions) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.connectFor(options);
      let acked = false;
      const onAck = () => {
        acked = true;
      };
      try {
        return await send(conn, { ...this.rpcOptions(options), onAck });
      } catch (err) {
        const neverRan = !acked || conn.killedForCancel.value;
        if (!(err instanceof WorkerExitedError) || !neverRan || attempt > 1 || this.closing) throw err;
        await conn.proc.exited; // the dead connection is dropped on exit: the next connect() starts afresh
      }
    }
  }

  private rpcOptions(options: CallSettings): RequestOptions {
    return {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (b) => {
        const event = progressFromWire(b);
        if (event) emit(options.onProgress, event);
      },
    };
  }

  /** The worker's pid, if one is running. */
  async pid(): Promise<number | undefined> {
    return this.connection ? (await this.connection.catch(() => undefined))?.proc.pid : undefined;
  }

  /**
   * Shuts the worker down (shutdown request, then stdin EOF, SIGTERM, SIGKILL). Idempotent. A shared
   * daemon is not shut down (it ignores a client's shutdown): the runtime only disconnects.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const conn = await this.connection?.catch(() => undefined);
      this.connection = undefined;
      if (!conn) return;
      conn.rpc.failAll(
        () => new WorkerExitedError("The Python runtime was closed while this call was in flight.", null, null, ""),
      );
      if (!conn.proc.hasExited) {
        const bye = conn.rpc.request("shutdown").catch(() => undefined);
        await Promise.race([bye, new Promise((r) => setTimeout(r, 1000).unref())]);
      }
      conn.rpc.close();
      await conn.proc.stop();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
