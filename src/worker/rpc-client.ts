/**
 * Request/response over one ZeroMQ Dealer. zeromq.js allows one pending send and one pending
 * receive per socket, so there is a single reader loop dispatching replies by request id and a
 * single serialized send queue. A pending receive holds Node's event loop (zeromq.js sockets
 * cannot be unref'd), so the reader runs only while a request awaits its reply: an idle client
 * lets the process exit; replies arriving meanwhile wait in ZeroMQ's queue.
 */
import { randomUUID } from "node:crypto";
import { Dealer, type SocketOptions } from "zeromq";
import { AbortError, ProtocolError, type LmprobeError } from "../errors.js";
import { decodeMessage, encodeMessage } from "../protocol/codec.js";
import { errorFromWire } from "../protocol/error-from-wire.js";
import { replyOf, requestBody, type Reply, type Request, type RpcName } from "../protocol/messages.js";
import { PROTOCOL_VERSION } from "../protocol/version.js";
import type { WireBody } from "../protocol/wire-values.js";

/** Per-request options. */
export interface RequestOptions {
  signal?: AbortSignal;
  /** Raw progress bodies sent by the worker for this request. */
  onProgress?: (body: WireBody) => void;
  /** Called when the worker acknowledges receipt (a request never acknowledged never ran). */
  onAck?: () => void;
}

interface Pending {
  type: string;
  resolve: (body: WireBody) => void;
  reject: (err: Error) => void;
  onProgress?: (body: WireBody) => void;
  onAck?: () => void;
  /** Set once the caller gave up (abort): the terminal reply is then only awaited, not delivered. */
  abandoned?: boolean;
}

export class RpcClient {
  private readonly socket: Dealer;
  private readonly pending = new Map<string, Pending>();
  private sendQueue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private reading = false;
  private busy = false;
  /** Called when a cancelled request does not finish within the grace period. */
  onCancelStuck: (() => void) | undefined;
  /** Called when the client goes from idle to waiting for a reply (true) and back (false). */
  onBusyChange: ((busy: boolean) => void) | undefined;

  /**
   * @param socket CURVE options of a served worker (remote-connection.ts), and a hook that sees the
   *   Dealer before it connects (its `events` must be observed from the start to see the handshake).
   */
  constructor(
    endpoint: string,
    private readonly cancelGraceMs = 5000,
    socket: { options?: SocketOptions<Dealer>; beforeConnect?: (dealer: Dealer) => void } = {},
  ) {
    // linger 0: a closed socket never holds the Node process open with unsent messages.
    // ZMTP heartbeats drop a silent peer (matters for tcp workers; a local one is also watched by its exit).
    this.socket = new Dealer({
      linger: 0,
      sendHighWaterMark: 0,
      receiveHighWaterMark: 0,
      heartbeatInterval: 5000,
      heartbeatTimeout: 30000,
      ...socket.options,
    });
    socket.beforeConnect?.(this.socket);
    this.socket.connect(endpoint);
  }

  /** Tells the owner whether a request is in flight (it refs/unrefs the worker process). */
  private updateBusy(): void {
    const busy = this.pending.size > 0;
    if (busy === this.busy) return;
    this.busy = busy;
    this.onBusyChange?.(busy);
  }

  private startReading(): void {
    if (this.reading || this.closed) return;
    this.reading = true;
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    try {
      while (!this.closed && this.pending.size > 0) {
        const frames = await this.socket.receive();
        let header: WireBody;
        let body: WireBody;
        try {
          ({ header, body } = decodeMessage(frames));
        } catch (err) {
          // A frame we cannot decode: every caller gets a typed error, never msgpackr's own.
          this.failAll(() => new ProtocolError(`the worker sent a malformed message (${describe(err)})`));
          continue;
        }
        // A daemon probes clients with work in flight (a dead one gets its work cancelled): no reply to anything.
        if (typeof header === "object" && header !== null && header.type === "keepalive") continue;
        if (typeof header !== "object" || header === null || typeof header.parent !== "string") {
          // A reply that names no request (a non-map header, or the worker's answer to a message it
          // could not decode, parent null) would otherwise leave every caller waiting forever.
          const why = body && typeof body === "object" && body.evalue ? `: ${String(body.evalue)}` : "";
          this.failAll(() => new ProtocolError(`the worker sent a reply that names no request${why}`));
          continue;
        }
        const entry = this.pending.get(header.parent);
        if (!entry) continue; // a late reply to a request that was failed already
        switch (header.type) {
          case "ack":
            entry.onAck?.();
            break;
          case "progress":
            if (!entry.abandoned) entry.onProgress?.(body);
            break;
          case "result":
            this.pending.delete(String(header.parent));
            if (!entry.abandoned) entry.resolve(body);
            break;
          case "error":
            this.pending.delete(String(header.parent));
            if (!entry.abandoned) entry.reject(errorFromWire(entry.type, body));
            break;
          default:
            this.pending.delete(String(header.parent));
            entry.reject(new ProtocolError(`unexpected reply type ${String(header.type)}`));
        }
        this.updateBusy();
      }
    } catch (err) {
      if (!this.closed) this.failAll(() => new ProtocolError(`the connection to the worker failed (${describe(err)})`));
    } finally {
      this.reading = false;
    }
  }

  private send(header: WireBody, body: WireBody): Promise<void> {
    let frames: ReturnType<typeof encodeMessage>;
    try {
      frames = encodeMessage(header, body);
    } catch (err) {
      return Promise.reject(new ProtocolError(`cannot encode ${String(header.type)}: ${describe(err)}`));
    }
    const next = this.sendQueue.then(() => this.socket.send(frames));
    this.sendQueue = next.catch(() => undefined);
    return next;
  }

  /** Sends RPC `name` and resolves with its typed reply. */
  async call<K extends RpcName>(name: K, body: Request<K>, options: RequestOptions = {}): Promise<Reply<K>> {
    return replyOf(name, await this.request(name, requestBody(body), options));
  }

  /** Sends a request (an RPC or a control message) and resolves with the body of its `result`. */
  request(type: string, body: WireBody = {}, options: RequestOptions = {}): Promise<WireBody> {
    if (this.closed) return Promise.reject(new ProtocolError("the worker connection is closed"));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AbortError({ cause: signal.reason }));
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        type,
        resolve,
        reject,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.onAck ? { onAck: options.onAck } : {}),
      };
      const onAbort = () => {
        entry.abandoned = true;
        reject(new AbortError({ cause: signal?.reason }));
        void this.send(
          { v: PROTOCOL_VERSION, id: randomUUID(), type: "cancel", ts: Date.now() / 1000 },
          { target: id },
        ).catch(() => undefined);
        // A request that ignores the cancel (a long forward pass) gets its worker killed.
        const timer = setTimeout(() => {
          if (this.pending.has(id)) this.onCancelStuck?.();
        }, this.cancelGraceMs);
        timer.unref();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const cleanup = () => signal?.removeEventListener("abort", onAbort);
      entry.resolve = (b) => {
        cleanup();
        resolve(b);
      };
      entry.reject = (e) => {
        cleanup();
        reject(e);
      };
      this.pending.set(id, entry);
      this.updateBusy();
      this.startReading();
      this.send({ v: PROTOCOL_VERSION, id, type, ts: Date.now() / 1000 }, body).catch((err: unknown) => {
        this.pending.delete(id);
        this.updateBusy();
        entry.reject(new ProtocolError(`could not send ${type}: ${describe(err)}`));
      });
    });
  }

  /** Number of requests still waiting for a terminal reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Rejects every pending request with `err`. */
  failAll(err: Error | (() => LmprobeError)): void {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      if (!entry.abandoned) entry.reject(typeof err === "function" ? err() : err);
    }
    this.updateBusy();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));
