/**
 * Multipart codec shared with python_worker/lmprobe_worker/protocol.py: `[header, body, ...raw]`.
 * Typed arrays in a body travel as their own frames (aligned, zero-copy views on receipt) and
 * are replaced by `{__frame__, dtype, shape}` placeholders inside the msgpack body.
 */
import { Packr } from "msgpackr";
import { ProtocolError } from "../errors.js";

/** A dense little-endian array with its shape, as it crosses the wire. */
export interface Tensor {
  dtype: TensorDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;
}

export type TensorDtype = "float32" | "float64" | "int32" | "int64" | "uint8" | "uint16" | "float16";

const FRAME_KEY = "__frame__";

// Records off: Python's msgpack cannot read msgpackr's record extension. int64AsType 'auto'
// keeps safe integers as numbers instead of BigInt.
// ('auto' is supported at run time but missing from msgpackr's typings.)
const packr = new Packr({
  useRecords: false,
  int64AsType: "auto" as "number",
  encodeUndefinedAsNil: true,
  mapsAsObjects: true,
});

const CTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  float16: Uint16Array, // Node 20 has no Float16Array: raw bits
} as const;

/** Makes a tensor from a typed array and a shape (checked). */
export function tensor(data: Tensor["data"], shape: number[], dtype?: TensorDtype): Tensor {
  const inferred: TensorDtype =
    dtype ??
    (data instanceof Float32Array
      ? "float32"
      : data instanceof Float64Array
        ? "float64"
        : data instanceof Int32Array
          ? "int32"
          : data instanceof BigInt64Array
            ? "int64"
            : data instanceof Uint16Array
              ? "uint16"
              : "uint8");
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length)
    throw new ProtocolError(`tensor of shape [${shape}] needs ${size} values, got ${data.length}`);
  return { dtype: inferred, shape, data };
}

function isTensor(v: unknown): v is Tensor {
  return (
    typeof v === "object" && v !== null && ArrayBuffer.isView((v as Tensor).data) && Array.isArray((v as Tensor).shape)
  );
}

function lift(value: unknown, frames: Uint8Array[]): unknown {
  if (isTensor(value)) {
    const d = value.data;
    frames.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    return { [FRAME_KEY]: frames.length - 1, dtype: value.dtype, shape: value.shape };
  }
  if (Array.isArray(value)) return value.map((v) => lift(v, frames));
  if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = lift(v, frames);
    return out;
  }
  return value;
}

function sink(value: unknown, frames: Buffer[]): unknown {
  if (Array.isArray(value)) return value.map((v) => sink(v, frames));
  if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
    const obj = value as Record<string, unknown>;
    if (FRAME_KEY in obj) {
      const dtype = obj.dtype as TensorDtype;
      const Ctor = CTORS[dtype];
      const frame = frames[obj[FRAME_KEY] as number];
      if (!Ctor || !frame) throw new ProtocolError(`bad tensor reference ${JSON.stringify(obj)}`);
      const width = Ctor.BYTES_PER_ELEMENT;
      // zeromq.js frames start at offset 0; copy only if a frame ever arrives misaligned.
      const buf = frame.byteOffset % width === 0 ? frame : Buffer.from(frame);
      const data = new Ctor(buf.buffer as ArrayBuffer, buf.byteOffset, buf.byteLength / width);
      return { dtype, shape: obj.shape as number[], data } satisfies Tensor;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = sink(v, frames);
    return out;
  }
  return value;
}

/** Encodes a header and a body (which may hold tensors) into frames. */
export function encodeMessage(header: Record<string, unknown>, body: Record<string, unknown>): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const lifted = lift(body, frames);
  return [packr.pack(header), packr.pack(lifted), ...frames];
}

/** Decodes `[header, body, ...raw]` frames; tensors come back as typed-array views. */
export function decodeMessage(frames: Buffer[]): { header: Record<string, unknown>; body: Record<string, unknown> } {
  const [h, b, ...raw] = frames;
  if (!h || !b) throw new ProtocolError(`a message needs a header and a body frame, got ${frames.length} frames`);
  const header = packr.unpack(h) as Record<string, unknown>;
  const body = sink(packr.unpack(b), raw) as Record<string, unknown>;
  return { header, body };
}
