/**
 * The worker's own reports outside the RPC map, in camelCase: the `status` control reply of a
 * daemon or served worker (`lmprobe worker status`) and the JSON line a served worker prints when it
 * listens (`lmprobe worker serve`). Read defensively: a field of the wrong type becomes a neutral value.
 */
import { isRecord } from "../internal/unknown-values.js";
import type { WorkerRaySettings } from "./messages.js";

/** What a daemon (or served worker) says about itself. */
export interface WorkerStatus {
  pid: number;
  endpoint: string;
  protocol: number;
  /** Seconds since the epoch. */
  startedAt: number;
  uptimeSeconds: number;
  /** Connected clients. */
  clients: number;
  requestsInFlight: number;
  requestsServed: number;
  /** `[path, dtype, device]` per loaded model. */
  models: string[][];
  /** Bytes of the loaded models' parameters and buffers, and the LRU's budget for them. */
  modelBytes: number;
  modelMemoryBudget: number;
  rssBytes: number;
  maxRssBytes: number;
  /** Seconds without a client before the daemon exits; 0: never. */
  idleTimeoutSeconds: number;
  /** The Ray cluster it shards extractions over, or null (local extraction). */
  ray: WorkerRaySettings | null;
}

/** The `listening` line of `lmprobe worker serve`'s Python worker. */
export interface ServeAnnouncement {
  endpoint: string;
  pid: number;
  /** Z85 CURVE public key clients pin (the secret key never leaves the key folder). */
  serverPublicKey: string;
  keyFolder: string;
  /** True when this start generated the key pair. */
  keysCreated: boolean;
  /** Client keys allowed in, or null: any client that has the server public key. */
  allowList: number | null;
  ray: WorkerRaySettings | null;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** A worker's Ray settings as it reported them, or null when absent or malformed. */
export function raySettingsFromWire(raw: unknown): WorkerRaySettings | null {
  if (!isRecord(raw) || typeof raw.address !== "string") return null;
  const workers = typeof raw.workers === "number" ? raw.workers : null;
  const resources: Record<string, number> = {};
  if (isRecord(raw.resources))
    for (const [k, v] of Object.entries(raw.resources)) if (typeof v === "number") resources[k] = v;
  const threads = typeof raw.threads === "number" ? raw.threads : null;
  return { address: raw.address, workers, resources, threads };
}

/** The `status` reply, camelCased. */
export function workerStatusFromWire(raw: unknown): WorkerStatus {
  const s = isRecord(raw) ? raw : {};
  const models = Array.isArray(s.models) ? s.models.map((m) => (Array.isArray(m) ? m.map(String) : [String(m)])) : [];
  return {
    pid: num(s.pid),
    endpoint: str(s.endpoint),
    protocol: num(s.protocol),
    startedAt: num(s.started_at),
    uptimeSeconds: num(s.uptime_s),
    clients: num(s.clients),
    requestsInFlight: num(s.requests_in_flight),
    requestsServed: num(s.requests_served),
    models,
    modelBytes: num(s.model_bytes),
    modelMemoryBudget: num(s.model_memory_budget),
    rssBytes: num(s.rss_bytes),
    maxRssBytes: num(s.max_rss_bytes),
    idleTimeoutSeconds: num(s.idle_timeout_s),
    ray: raySettingsFromWire(s.ray),
  };
}

/** The announcement in one line of a served worker's stdout, or undefined for any other line. */
export function serveAnnouncementFromWire(line: string): ServeAnnouncement | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(msg) || msg.event !== "listening") return undefined;
  return {
    endpoint: str(msg.endpoint),
    pid: num(msg.pid),
    serverPublicKey: str(msg.server_public_key),
    keyFolder: str(msg.key_folder),
    keysCreated: msg.keys_created === true,
    allowList: typeof msg.allow_list === "number" ? msg.allow_list : null,
    ray: raySettingsFromWire(msg.ray),
  };
}
