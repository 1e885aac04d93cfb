/**
 * float16 / bfloat16 storage for the activation cache (Node 20 has no Float16Array): conversions
 * to and from float32 with round-to-nearest-even. Lossy by nature: `cacheDtype` documents it.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000; // subnormal half: shift the implicit bit in, then round
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rounded = (mant + half - 1 + ((mant >>> shift) & 1)) >>> shift;
    return sign | rounded;
  }
  const rounded = mant + 0xfff + ((mant >>> 13) & 1);
  if (rounded & 0x800000) {
    mant = 0;
    e += 1;
    if (e >= 0x1f) return sign | 0x7c00;
  } else {
    mant = rounded;
  }
  return sign | (e << 10) | (mant >>> 13);
}

function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Storage dtypes of cached activations. */
export type CacheDtype = "float32" | "float16" | "bfloat16";

/** Encodes float32 values into the bytes of a storage dtype. */
export function encodeValues(values: Float32Array, dtype: CacheDtype): Buffer {
  if (dtype === "float32") return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint16Array(values.length);
  if (dtype === "float16") {
    for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i]!);
  } else {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < values.length; i++) {
      const x = bits[i]!;
      const isNan = (x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0;
      out[i] = isNan ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return Buffer.from(out.buffer);
}

/** Decodes stored bytes back to float32 values. */
export function decodeValues(bytes: Buffer, dtype: CacheDtype): Float32Array {
  if (dtype === "float32") {
    const copy = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(copy.buffer).set(bytes);
    return copy;
  }
  const halves = new Uint16Array(bytes.byteLength / 2);
  new Uint8Array(halves.buffer).set(bytes);
  const out = new Float32Array(halves.length);
  if (dtype === "float16") {
    for (let i = 0; i < halves.length; i++) out[i] = fromHalfBits(halves[i]!);
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  }
  return out;
}
