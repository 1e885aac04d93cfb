/**
 * The typed RPC map: each request type the worker answers (handlers.py `HANDLERS`), with its
 * request and reply bodies. `call<K>` in the worker layer takes `Request<K>` and resolves with
 * `Reply<K>`; the reply is trusted to follow this map (the contract test pins the names).
 */
import type {
  BaselineFitReply,
  BaselineFitRequest,
  BaselinePredictReply,
  BaselinePredictRequest,
} from "./baselines.js";
import type { ExtractReply, ExtractRequest } from "./extract.js";
import type { FitReply, FitRequest } from "./fit.js";
import type { ScoreReply, ScoreRequest } from "./score.js";
import type { TokenizeReply, TokenizeRequest } from "./tokenize.js";
import type { WireBody } from "./wire-values.js";

/** The Ray cluster a worker shards its extractions over (its `LMPROBE_RAY_*` settings). */
export interface WorkerRaySettings {
  address: string;
  /** Actors it starts; null: one per GPU of the cluster, else 1. */
  workers: number | null;
  /** What each actor reserves; `{}`: the default (one GPU, else one CPU). */
  resources: Record<string, number>;
  /** torch threads in each actor; null (or absent, from an older worker): what Ray gives it. */
  threads?: number | null;
}

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
  /** The cluster extractions are sharded over; null (or absent, from an older worker): local extraction. */
  ray?: WorkerRaySettings | null;
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
  /** Which heavy libraries (torch, transformers, nnsight, sklearn, ray) the worker has imported. */
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

/** `export_native`: writes the model truncated after the highest probed block as ONNX, and tokenizer.json. */
export interface ExportNativeRequest {
  /** Local model folder (resolved on the TypeScript side). */
  model: string;
  /** The probe's layers; the graph runs blocks 0..max(layers). */
  layers: number[];
  /** An existing folder the caller owns; the files are written there. */
  out_dir: string;
  /** File name of the graph, default "model.onnx". */
  onnx_file?: string;
  /** File name of the tokenizer, default "tokenizer.json". */
  tokenizer_file?: string;
}

/** `export_native` reply: what the native manifest records. */
export interface ExportNativeReply {
  onnx_file: string;
  /** External-data files beside `onnx_file` (empty when the weights are inside it). */
  external_data: string[];
  /** One per distinct layer, ascending: `hidden_<layer>`. */
  outputs: { name: string; layer: number }[];
  exporter: "dynamo" | "torchscript";
  opset: number;
  /** torch, transformers, onnx, onnxscript. */
  versions: Record<string, string>;
  architecture: string;
  num_layers: number;
  hidden_size: number;
  max_positions: number | null;
  tokenizer_file: string;
  tokenizer: {
    padding_side: "left" | "right";
    adds_bos: boolean;
    adds_eos: boolean;
    pad_token_id: number;
    pad_is_eos: boolean;
    bos_token_id: number | null;
    eos_token_id: number | null;
    model_max_length: number | null;
  };
  seconds: { load: number; total: number };
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
  baseline_fit: { request: BaselineFitRequest; reply: BaselineFitReply };
  baseline_predict: { request: BaselinePredictRequest; reply: BaselinePredictReply };
  export_native: { request: ExportNativeRequest; reply: ExportNativeReply };
  tokenize: { request: TokenizeRequest; reply: TokenizeReply };
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
  "baseline_fit",
  "baseline_predict",
  "export_native",
  "tokenize",
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
