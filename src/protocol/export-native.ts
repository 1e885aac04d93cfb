/**
 * The `export_native` RPC in the SDK's names: the request `probe.exportNative` sends and what the
 * worker's reply says about the exported graph and tokenizer (the manifest is built from it).
 */
import type { ExportNativeReply, ExportNativeRequest } from "./messages.js";

/** What `exportNative` asks the worker to write. */
export interface ExportNativeSpec {
  /** Local model folder (resolved on the TypeScript side). */
  model: string;
  /** The probe's layers; the graph runs blocks 0..max(layers). */
  layers: number[];
  /** An existing folder the caller owns; the files are written there. */
  outDir: string;
  onnxFile: string;
  tokenizerFile: string;
}

/** The exported graph and tokenizer, as the worker reports them. */
export interface ExportedGraph {
  onnxFile: string;
  externalData: string[];
  outputs: { name: string; layer: number }[];
  exporter: "dynamo" | "torchscript";
  opset: number;
  versions: Record<string, string>;
  architecture: string;
  numLayers: number;
  hiddenSize: number;
  maxPositions: number | null;
  tokenizerFile: string;
  tokenizer: {
    paddingSide: "left" | "right";
    addsBos: boolean;
    addsEos: boolean;
    padTokenId: number;
    padIsEos: boolean;
    bosTokenId: number | null;
    eosTokenId: number | null;
    modelMaxLength: number | null;
  };
  /** The worker's own time for the export. */
  workerSeconds: number;
}

/** The `export_native` request body. */
export function exportNativeRequest(spec: ExportNativeSpec): ExportNativeRequest {
  return {
    model: spec.model,
    layers: [...spec.layers],
    out_dir: spec.outDir,
    onnx_file: spec.onnxFile,
    tokenizer_file: spec.tokenizerFile,
  };
}

/** The `export_native` reply in the SDK's names. */
export function exportedGraphFromWire(reply: ExportNativeReply): ExportedGraph {
  const t = reply.tokenizer;
  return {
    onnxFile: reply.onnx_file,
    externalData: reply.external_data,
    outputs: reply.outputs,
    exporter: reply.exporter,
    opset: reply.opset,
    versions: reply.versions,
    architecture: reply.architecture,
    numLayers: reply.num_layers,
    hiddenSize: reply.hidden_size,
    maxPositions: reply.max_positions,
    tokenizerFile: reply.tokenizer_file,
    tokenizer: {
      paddingSide: t.padding_side,
      addsBos: t.adds_bos,
      addsEos: t.adds_eos,
      padTokenId: t.pad_token_id,
      padIsEos: t.pad_is_eos,
      bosTokenId: t.bos_token_id,
      eosTokenId: t.eos_token_id,
      modelMaxLength: t.model_max_length,
    },
    workerSeconds: reply.seconds.total,
  };
}
