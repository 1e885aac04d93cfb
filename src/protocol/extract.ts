/** The `extract` RPC: prompts × layers pooled one way (or every real token, "none"). */
import type { Tensor } from "./codec.js";
import { remoteToWire, type RemoteJob, type RemoteWire } from "./remote.js";
import { numbers } from "./wire-values.js";

/** A prompt on the wire: a text, or a chat conversation the worker renders with the model's template. */
export type WirePrompt = string | Array<{ role: string; content: string }>;

/** One extraction request, in TypeScript's terms. */
export interface ExtractSpec {
  model: string;
  prompts: WirePrompt[];
  layers: number[];
  /** A vector pooling, or "none" for every real token (unpadded, with `lengths`). */
  pooling: "last_token" | "first_token" | "mean" | "none";
  batchSize: number;
  groupByLength: boolean;
  dtype: string;
  device: string;
  backend?: string | undefined;
  remote?: RemoteJob | undefined;
  /** Pool only these roles' message-content tokens of conversations (local backend; absent: every token). */
  roles?: string[] | undefined;
}

/** The `extract` request body. */
export interface ExtractRequest {
  model: string;
  prompts: WirePrompt[];
  layers: number[];
  pooling: ExtractSpec["pooling"];
  batch_size: number;
  group_by_length: boolean;
  dtype: string;
  device: string;
  backend?: string;
  remote?: RemoteWire;
  roles?: string[];
}

/** The `extract` reply body. */
export interface ExtractReply {
  /** (prompts, layers, hidden), or with pooling "none" (tokens, layers, hidden). */
  activations: Tensor;
  /** Real tokens per prompt (int32). */
  lengths: Tensor;
  tokens: number;
  seconds: { load: number; forward: number; total: number };
  remote?: Record<string, unknown>;
}

/** An extraction's result, in TypeScript's terms. */
export interface Extracted {
  data: Float32Array;
  /** Activation width (the hidden size). */
  width: number;
  lengths: number[];
  tokens: number;
  seconds: ExtractReply["seconds"];
}

/** Builds the `extract` request body. */
export function extractToWire(spec: ExtractSpec): ExtractRequest {
  return {
    model: spec.model,
    prompts: spec.prompts,
    layers: spec.layers,
    pooling: spec.pooling,
    batch_size: spec.batchSize,
    group_by_length: spec.groupByLength,
    dtype: spec.dtype,
    device: spec.device,
    ...(spec.backend ? { backend: spec.backend } : {}),
    ...(spec.remote ? { remote: remoteToWire(spec.remote) } : {}),
    ...(spec.roles ? { roles: spec.roles } : {}),
  };
}

/** Reads an `extract` reply (the activations stay a view on the frame: the caller copies what it keeps). */
export function extractedFromWire(reply: ExtractReply): Extracted {
  const acts = reply.activations;
  const data = acts.data instanceof Float32Array ? acts.data : Float32Array.from(numbers(acts));
  return {
    data,
    width: acts.shape[2]!,
    lengths: numbers(reply.lengths),
    tokens: Number(reply.tokens),
    seconds: reply.seconds,
  };
}
