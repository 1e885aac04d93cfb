/**
 * The typed RPC map: each request type the worker answers (handlers.py `HANDLERS`), with its
 * request and reply bodies. `call<K>` in the worker layer takes `Request<K>` and resolves with
 * `Reply<K>`; the reply is trusted to follow this map (the contract test pins the names).
 */
import type { ExtractReply, ExtractRequest } from "./extract.js";
import type { FitReply, FitRequest } from "./fit.js";
import type { ScoreReply, ScoreRequest } from "./score.js";
import type { WireBody } from "./wire-values.js";

/** What the worker reports about itself in the `hello` handshake. */
export interface HelloReply {
  protocol: number;
  pid: number;
  python: string;
  executable: string;
  /** Installed versions (torch, transformers, sklearn, numpy, pyzmq, nnsight), read without importing them. */
  versions: Record<string, string>;
  /**
   * Device that `device: "auto"` resolves to, or `"auto"` while the worker has not imported torch
   * (a worker that only fits never does; models resolve "auto" themselves when they load).
   */
  device: string;
  /** torch's intra-op thread count, or 0 while torch is not imported. */
  threads: number;
  capabilities: string[];
}

/** `hello` request: the handshake sends `{}`, which leaves torch unimported. */
export interface HelloRequest {
  /** Import torch to resolve `device` and `threads` (`lmprobe env`); costs torch's import. */
  resolve_device?: boolean;
}

/** `loaded_models` reply: a diagnostic of what the worker holds. */
export interface LoadedModelsReply {
  /** `[path, dtype, device]` per loaded model. */
  models: string[][];
  /** Which heavy libraries (torch, transformers, nnsight, sklearn) the worker has imported. */
  imported: string[];
}

/** `embedded_prepare`: converts an embedded model into a Hugging Face folder (once). */
export interface EmbeddedPrepareRequest {
  name: string;
  out_dir: string;
}

/** `embedded_prepare` reply. */
export interface EmbeddedPrepareReply {
  path: string;
  name: string;
  num_layers: number;
  hidden_size: number;
  seconds: number;
  /** True when the folder was already there. */
  cached?: boolean;
}

/** `model_resolve`: a served worker resolves a model name on its own disk (no shared file system). */
export interface ModelResolveRequest {
  /** The name the user wrote: a folder on the server, a hub id in its cache, or `embedded:NAME`. */
  model: string;
  revision?: string;
}

/** `model_resolve` reply. */
export interface ModelResolveReply {
  /** The folder on the server that `extract` loads. */
  path: string;
  /** The hub commit sha, for hub models. */
  revision: string | null;
  /** Its config.json. */
  config: Record<string, unknown>;
  /** What the activation cache keys on (cache/model-identity.ts), computed on the server. */
  source: Record<string, unknown>;
}

/** Requests without fields. */
export type EmptyRequest = Record<string, never>;

/** Request and reply body of every RPC. */
export interface RpcMap {
  hello: { request: HelloRequest; reply: HelloReply };
  extract: { request: ExtractRequest; reply: ExtractReply };
  fit: { request: FitRequest; reply: FitReply };
  score: { request: ScoreRequest; reply: ScoreReply };
  embedded_prepare: { request: EmbeddedPrepareRequest; reply: EmbeddedPrepareReply };
  unload: { request: EmptyRequest; reply: { unloaded: number } };
  loaded_models: { request: EmptyRequest; reply: LoadedModelsReply };
  model_resolve: { request: ModelResolveRequest; reply: ModelResolveReply };
}

/** An RPC name. */
export type RpcName = keyof RpcMap;
/** The request body of RPC `K`. */
export type Request<K extends RpcName> = RpcMap[K]["request"];
/** The reply body of RPC `K`. */
export type Reply<K extends RpcName> = RpcMap[K]["reply"];

/** Every RPC name, for the contract test (the `satisfies` clause keeps it in step with the map). */
export const RPC_NAMES = [
  "hello",
  "extract",
  "fit",
  "score",
  "embedded_prepare",
  "unload",
  "loaded_models",
  "model_resolve",
] as const satisfies readonly RpcName[];
type Missing = Exclude<RpcName, (typeof RPC_NAMES)[number]>;
/** Compile-time check: fails to type-check when an RPC of the map is missing from RPC_NAMES. */
export const RPC_NAMES_COMPLETE: Missing extends never ? true : never = true;

/** Control messages the server answers on its main thread, even during a call. */
export const CONTROL_MESSAGES = ["ping", "cancel", "shutdown"] as const;

/** A request body as the codec takes it. */
export function requestBody<K extends RpcName>(body: Request<K>): WireBody {
  return body as unknown as WireBody;
}

/** A decoded `result` body, read as the reply of RPC `name` (the worker is trusted to follow the map). */
export function replyOf<K extends RpcName>(_name: K, body: WireBody): Reply<K> {
  return body as unknown as Reply<K>;
}
