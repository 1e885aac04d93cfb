/**
 * A dependency-free codec for the safetensors format (https://github.com/huggingface/safetensors),
 * used to save fitted probes in files that Python's `safetensors` package reads as-is.
 *
 * Layout: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON header (padded with
 * spaces to a multiple of 8), then the little-endian tensor bytes; `data_offsets` are relative to
 * the start of that data region, which the tensors must cover exactly.
 */

/** Element types this codec reads and writes (the safetensors spelling). */
export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** One tensor: row-major `data` of `product(shape)` elements. F16 and BF16 hold raw bits in a `Uint16Array`. */
export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float64Array | Float32Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint16Array;
}

/** The bytes are not a valid safetensors file, or the tensors given to encode are inconsistent. */
export class SafetensorsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsFormatError";
  }
}

type ArrayCtor = { new (buffer: ArrayBuffer): NamedTensor["data"]; readonly BYTES_PER_ELEMENT: number };

const DTYPES: Record<SafetensorsDtype, ArrayCtor> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** The Rust implementation's cap: a larger header is a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";
// Typed arrays use host byte order; the format is little-endian. Every Node 20 target is LE.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const isDtype = (d: unknown): d is SafetensorsDtype => typeof d === "string" && Object.hasOwn(DTYPES, d);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isCountPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every(isCount);
const elementCount = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new SafetensorsFormatError("safetensors codec needs a little-endian host.");
}

/**
 * Serialises tensors (and optional string metadata) to safetensors bytes. Tensors are laid out
 * in sorted-name order, so equal inputs give byte-identical files.
 * @throws {SafetensorsFormatError} On an unknown dtype, a bad shape, or data whose type or length does not match.
 */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Buffer {
  assertLittleEndian();
  // Null prototype: a tensor named "__proto__" must become a key, not replace the prototype.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string")
        throw new SafetensorsFormatError(`Metadata value for "${k}" must be a string, got ${typeof v}.`);
    }
    header[METADATA_KEY] = { ...metadata };
  }
  const names = Object.keys(tensors).sort();
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    if (name === METADATA_KEY)
      throw new SafetensorsFormatError(`"${METADATA_KEY}" is reserved and cannot name a tensor.`);
    if (!isDtype(t.dtype))
      throw new SafetensorsFormatError(`Tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}.`);
    if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
      throw new SafetensorsFormatError(
        `Tensor "${name}": shape must be non-negative integers, got ${JSON.stringify(t.shape)}.`,
      );
    }
    const Ctor = DTYPES[t.dtype];
    if (!(t.data instanceof Ctor))
      throw new SafetensorsFormatError(`Tensor "${name}": ${t.dtype} data must be a ${Ctor.name}.`);
    if (t.data.length !== elementCount(t.shape)) {
      throw new SafetensorsFormatError(
        `Tensor "${name}": shape [${t.shape}] needs ${elementCount(t.shape)} elements, data has ${t.data.length}.`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const headerLength = Math.ceil(json.length / 8) * 8; // keeps the data region 8-byte aligned in the file
  const out = Buffer.alloc(8 + headerLength + offset, 0x20); // pad bytes are spaces; data overwrites the rest
  out.writeBigUInt64LE(BigInt(headerLength), 0);
  json.copy(out, 8);
  let cursor = 8 + headerLength;
  for (const name of names) {
    const { data } = tensors[name]!;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), cursor);
    cursor += data.byteLength;
  }
  return out;
}

/**
 * Parses safetensors bytes, validating the header and that the tensors tile the data region exactly.
 * Every returned array is a fresh, aligned copy: callers may keep it after `bytes` is reused.
 * @param source A file path to name in error messages.
 * @throws {SafetensorsFormatError} When the bytes are truncated, malformed or inconsistent.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source?: string,
): { tensors: Record<string, NamedTensor>; metadata: Record<string, string> } {
  assertLittleEndian();
  // Annotated, not inferred: TypeScript narrows after a call only through a declared `never` type.
  const fail: (why: string) => never = (why) => {
    throw new SafetensorsFormatError(`Invalid safetensors ${source === undefined ? "data" : `file ${source}`}: ${why}`);
  };
  if (bytes.byteLength < 8) fail(`${bytes.byteLength} bytes is shorter than the 8-byte header length.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES))
    fail(`header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit.`);
  const headerLength = Number(declared);
  if (headerLength > bytes.byteLength - 8)
    fail(`header length ${headerLength} exceeds the ${bytes.byteLength - 8} bytes that follow (truncated?).`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (!isPlainObject(header)) return fail("header is not a JSON object.");
  const entries = header;

  // Object.fromEntries defines own keys, so a hostile "__proto__" name stays an ordinary key.
  const metaPairs: [string, string][] = [];
  const rawMeta = entries[METADATA_KEY];
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) fail(`"${METADATA_KEY}" is not an object.`);
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== "string") fail(`metadata value for "${k}" is not a string.`);
      metaPairs.push([k, v]);
    }
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const specs: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    if (name === METADATA_KEY) continue;
    if (!isPlainObject(entry)) fail(`tensor "${name}" is not an object.`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (!isDtype(dtype)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}.`);
    if (!Array.isArray(shape) || !shape.every(isCount))
      fail(`tensor "${name}" shape must be non-negative integers, got ${JSON.stringify(shape)}.`);
    const [begin, end] = isCountPair(offsets)
      ? offsets
      : fail(`tensor "${name}" data_offsets must be [begin, end] integers, got ${JSON.stringify(offsets)}.`);
    if (begin > end || end > dataLength)
      fail(`tensor "${name}" data_offsets [${begin}, ${end}] are out of range 0..${dataLength}.`);
    const expected = elementCount(shape) * DTYPES[dtype].BYTES_PER_ELEMENT;
    if (end - begin !== expected)
      fail(`tensor "${name}" spans ${end - begin} bytes but ${dtype} [${shape}] needs ${expected}.`);
    specs.push({ name, dtype, shape: [...shape], begin, end });
  }

  // The tensors must tile the data region: no overlap (aliasing), no gaps or trailing bytes (hidden data).
  specs.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of specs) {
    if (s.begin < cursor)
      fail(`tensor "${s.name}" overlaps the previous tensor (begins at ${s.begin}, previous ends at ${cursor}).`);
    if (s.begin > cursor) fail(`gap of ${s.begin - cursor} bytes before tensor "${s.name}".`);
    cursor = s.end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} trailing bytes after the last tensor.`);

  const tensors = Object.fromEntries(
    specs.map((s): [string, NamedTensor] => {
      // new Uint8Array(view) copies into a fresh, aligned ArrayBuffer. Not bytes.slice(): on a Buffer it is a view.
      const copy = new Uint8Array(bytes.subarray(dataStart + s.begin, dataStart + s.end)).buffer;
      return [s.name, { dtype: s.dtype, shape: s.shape, data: new DTYPES[s.dtype](copy) }];
    }),
  );
  return { tensors, metadata: Object.fromEntries(metaPairs) };
}
