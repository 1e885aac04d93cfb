/**
 * Where a served worker is (`lmprobe worker serve --bind tcp://HOST:PORT`) and the CURVE keys to
 * reach it: `PythonRuntime({ connect })`, else the `LMPROBE_WORKER_*` variables of
 * {@link REMOTE_ENV}. Checked with zod before anything connects; errors name the option and never
 * show a key's value (a secret key must not reach a log).
 */
import { inspect } from "node:util";
import { curveKeyPair, type Dealer, type SocketOptions } from "zeromq";
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import { curvePublicKey, Z85_KEY } from "./remote-keys.js";

/** `connect` option of {@link PythonRuntime}: a served worker, reached over TCP with CURVE. */
export interface RemoteConnectOptions {
  /** `tcp://HOST:PORT` of `lmprobe worker serve`. */
  endpoint: string;
  /** The server public key `lmprobe worker serve` printed (40 Z85 characters). */
  serverPublicKey: string;
  /**
   * This client's secret key (Z85), for a server with an allow-list (`--allow`). Default: a fresh
   * key pair per runtime, which only a server without an allow-list accepts.
   */
  secretKey?: string;
  /** This client's public key; derived from `secretKey` when omitted (and checked against it when given). */
  publicKey?: string;
  /** Limit for reaching the server and completing the CURVE handshake. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * A server silent for this long (ZMTP heartbeats unanswered: hung, or the network dropped) is
   * dropped, and the calls in flight fail with WorkerExitedError. @default 30000
   */
  heartbeatTimeoutMs?: number;
}

/** The environment variables that name a served worker when `connect` is not given. */
export const REMOTE_ENV = {
  endpoint: "LMPROBE_WORKER_CONNECT",
  serverPublicKey: "LMPROBE_WORKER_SERVER_KEY",
  secretKey: "LMPROBE_WORKER_SECRET_KEY",
  publicKey: "LMPROBE_WORKER_PUBLIC_KEY",
} as const;

const TCP_ENDPOINT = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

const z85Key = z.string().regex(Z85_KEY);
const schema = z.strictObject({
  endpoint: z.string().refine((e) => {
    const port = Number(TCP_ENDPOINT.exec(e)?.[2]);
    return port >= 1 && port <= 65535;
  }),
  serverPublicKey: z85Key,
  secretKey: z85Key.optional(),
  publicKey: z85Key.optional(),
  connectTimeoutMs: z.number().int().positive().optional(),
  heartbeatTimeoutMs: z.number().int().min(100).optional(),
});

const FIX: Record<string, string> = {
  endpoint: "must be tcp://HOST:PORT (a host name, an IPv4 address or [IPv6], and a port 1-65535)",
  serverPublicKey: "must be the 40-character Z85 server public key that `lmprobe worker serve` printed",
  secretKey: "must be a 40-character Z85 CURVE secret key (e.g. from zeromq's curveKeyPair())",
  publicKey: "must be the 40-character Z85 public key of secretKey",
  connectTimeoutMs: "must be a positive integer number of milliseconds",
  heartbeatTimeoutMs: "must be an integer number of milliseconds ≥ 100",
};

/** A checked `connect`: the endpoint and the keys the Dealer uses. The secret stays out of logs. */
export class RemoteTarget {
  readonly endpoint: string;
  readonly serverPublicKey: string;
  /** This client's public key (the one a server's allow-list must list). */
  readonly publicKey: string;
  /** True when the key pair was generated for this runtime. */
  readonly ephemeral: boolean;
  readonly connectTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly #secretKey: string;

  constructor(
    options: Required<Pick<RemoteConnectOptions, "endpoint" | "serverPublicKey" | "publicKey">> & {
      secretKey: string;
      ephemeral: boolean;
      connectTimeoutMs: number;
      heartbeatTimeoutMs: number;
    },
  ) {
    this.endpoint = options.endpoint;
    this.serverPublicKey = options.serverPublicKey;
    this.publicKey = options.publicKey;
    this.ephemeral = options.ephemeral;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs;
    this.#secretKey = options.secretKey;
  }

  /** The Dealer's CURVE client options and heartbeats. */
  socketOptions(): SocketOptions<Dealer> {
    return {
      curveServerKey: this.serverPublicKey,
      curvePublicKey: this.publicKey,
      curveSecretKey: this.#secretKey,
      heartbeatInterval: Math.min(5000, Math.ceil(this.heartbeatTimeoutMs / 4)),
      heartbeatTimeout: this.heartbeatTimeoutMs,
    };
  }

  /** What console.log and util.inspect show: no secret. */
  [inspect.custom](): string {
    return `RemoteTarget(${this.endpoint}, client ${this.publicKey})`;
  }

  toJSON(): Record<string, unknown> {
    return { endpoint: this.endpoint, serverPublicKey: this.serverPublicKey, publicKey: this.publicKey };
  }
}

/**
 * The served worker this runtime connects to: `connect`, else the environment, else undefined
 * (a local child worker).
 * @throws {InvalidOptionError} naming `connect.<field>` or the environment variable at fault.
 */
export function remoteTarget(
  connect: RemoteConnectOptions | undefined,
  env: Record<string, string | undefined>,
): RemoteTarget | undefined {
  if (connect !== undefined) return checked(connect, (field) => `connect.${field}`);
  if (!env[REMOTE_ENV.endpoint]) return undefined;
  const fromEnv: Record<string, string> = {};
  for (const [field, name] of Object.entries(REMOTE_ENV)) if (env[name]) fromEnv[field] = env[name];
  return checked(fromEnv, (field) => REMOTE_ENV[field as keyof typeof REMOTE_ENV] ?? `connect.${field}`);
}

function checked(input: unknown, name: (field: string) => string): RemoteTarget {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new InvalidOptionError("connect", "connect must be { endpoint, serverPublicKey, secretKey?, publicKey? }.");
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === "unrecognized_keys")
      throw new InvalidOptionError("connect", `connect has unknown field(s) ${issue.keys.join(", ")}.`);
    const field = String(issue.path[0] ?? "connect");
    const value = (input as Record<string, unknown>)[field];
    // Only the endpoint is echoed back: a key's value (a secret one above all) never enters a message.
    const got = field === "endpoint" && value !== undefined ? `, got ${JSON.stringify(value)}` : "";
    throw new InvalidOptionError(
      name(field),
      `${name(field)} ${value === undefined ? "is missing: it " : ""}${FIX[field] ?? "is invalid"}${got}.`,
    );
  }
  const o = parsed.data;
  if (o.publicKey !== undefined && o.secretKey === undefined)
    throw new InvalidOptionError(name("secretKey"), `${name("publicKey")} needs ${name("secretKey")} (its pair).`);
  const pair = o.secretKey === undefined ? curveKeyPair() : undefined;
  const secretKey = o.secretKey ?? pair!.secretKey;
  const publicKey = pair?.publicKey ?? curvePublicKey(secretKey);
  if (o.publicKey !== undefined && o.publicKey !== publicKey)
    throw new InvalidOptionError(
      name("publicKey"),
      `${name("publicKey")} is not the public key of ${name("secretKey")}.`,
    );
  return new RemoteTarget({
    endpoint: o.endpoint,
    serverPublicKey: o.serverPublicKey,
    publicKey,
    secretKey,
    ephemeral: pair !== undefined,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? 30_000,
  });
}
