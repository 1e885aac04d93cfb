/**
 * The exported model in onnxruntime: one forward pass per padded batch gives, for each probed
 * layer, `float32 [rows, width, hidden]`, the output of that decoder block (what the worker reads).
 */
import { ProbeFileError } from "../errors.js";
import type { NativeManifest } from "./manifest.js";
import type { OrtModule, OrtSession, OrtTensor } from "./optional-deps.js";
import type { PaddedBatch } from "./native-tokenizer.js";

/** Per-layer hidden states of one batch, `[rows, width, hidden]` row-major, in the requested layer order. */
export interface BatchHidden {
  perLayer: Float32Array[];
  hidden: number;
}

/** Session options the caller may set. */
export interface ModelRunOptions {
  /** Threads of one forward pass (onnxruntime's intra-op threads); its default: all cores. */
  threads?: number;
}

/** An onnxruntime session over the folder's model.onnx. */
export class NativeModel {
  readonly #ort: OrtModule;
  readonly #session: OrtSession;
  readonly #hidden: number;

  private constructor(ort: OrtModule, session: OrtSession, hidden: number) {
    this.#ort = ort;
    this.#session = session;
    this.#hidden = hidden;
  }

  /** Opens the model; checks that it has the inputs and the `hidden_<layer>` outputs the manifest lists. */
  static async open(ort: OrtModule, path: string, manifest: NativeManifest, options: ModelRunOptions) {
    const session = await ort.InferenceSession.create(path, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
      logSeverityLevel: 3, // warnings about unused initialisers etc. are not the user's concern
      // Idle intra-op threads sleep instead of spinning after each run: a Node service shares its
      // cores with the event loop (and, in the benchmark, with the worker it is compared with).
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    });
    const missing = [
      ...manifest.onnx.inputs.filter((n) => !session.inputNames.includes(n)),
      ...manifest.onnx.outputs.map((o) => o.name).filter((n) => !session.outputNames.includes(n)),
    ];
    if (missing.length) {
      await session.release();
      throw new ProbeFileError(path, `The ONNX model ${path} lacks the inputs/outputs ${missing.join(", ")}.`);
    }
    return new NativeModel(ort, session, manifest.model.hiddenSize);
  }

  /** Hidden states of `layers` for one padded batch. */
  async run(batch: PaddedBatch, layers: readonly number[]): Promise<BatchHidden> {
    const dims = [batch.rows, batch.width];
    const feeds: Record<string, OrtTensor> = {
      input_ids: new this.#ort.Tensor("int64", batch.inputIds, dims),
      attention_mask: new this.#ort.Tensor("int64", batch.attentionMask, dims),
    };
    const names = layers.map((l) => `hidden_${l}`);
    const out = await this.#session.run(feeds, names);
    const perLayer = names.map((name) => {
      const t = out[name]!;
      const expected = [batch.rows, batch.width, this.#hidden];
      if (!(t.data instanceof Float32Array) || t.dims.join() !== expected.join())
        throw new ProbeFileError(
          name,
          `The ONNX model gave ${name} as ${t.type} [${t.dims.join(", ")}], expected float32 [${expected.join(", ")}].`,
        );
      return t.data;
    });
    return { perLayer, hidden: this.#hidden };
  }

  /** Frees the session. */
  release(): Promise<void> {
    return this.#session.release();
  }
}
