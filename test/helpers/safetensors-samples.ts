/** Sample tensors and their JSON description, shared by the unit and Python cross-check safetensors tests. */
import type { NamedTensor } from "../../src/persist/safetensors.js";

/** Every dtype, with ordinary, scalar ([]) and empty ([0]) shapes and edge values. */
export const ALL: Record<string, NamedTensor> = {
  f64: { dtype: "F64", shape: [2, 2], data: Float64Array.from([1 / 3, -0, 1e308, Number.NEGATIVE_INFINITY]) },
  f32: { dtype: "F32", shape: [3], data: Float32Array.from([0.1, -2.5, 3.4e38]) },
  f16: { dtype: "F16", shape: [2], data: Uint16Array.from([0x3c00, 0xfbff]) },
  bf16: { dtype: "BF16", shape: [1, 3], data: Uint16Array.from([0x3f80, 0xc020, 0x7f80]) },
  i64: { dtype: "I64", shape: [2], data: BigInt64Array.from([2n ** 62n + 1n, -(2n ** 63n)]) },
  i32: { dtype: "I32", shape: [], data: Int32Array.from([-2147483648]) },
  i16: { dtype: "I16", shape: [0], data: new Int16Array(0) },
  i8: { dtype: "I8", shape: [3, 1], data: Int8Array.from([-128, 0, 127]) },
  u8: { dtype: "U8", shape: [2, 0, 3], data: new Uint8Array(0) },
  bool: { dtype: "BOOL", shape: [4], data: Uint8Array.from([1, 0, 0, 1]) },
  scalar_f32: { dtype: "F32", shape: [], data: Float32Array.from([7.5]) },
};

/** A file's content as test/fixtures/safetensors_roundtrip.py prints it. */
export interface Described {
  metadata: Record<string, string>;
  tensors: Record<string, ReturnType<typeof describeTensor>>;
}

/** The JSON form the Python fixture prints, for comparing values exactly. */
export function describeTensor(t: NamedTensor): { dtype: string; shape: number[]; values: unknown[] } {
  const names = {
    F64: "float64",
    F32: "float32",
    F16: "float16",
    BF16: "bfloat16",
    I64: "int64",
    I32: "int32",
    I16: "int16",
    I8: "int8",
    U8: "uint8",
    BOOL: "bool",
  };
  // JSON has no Infinity/NaN: the fixture writes them as Python's str() does.
  const num = (v: number) => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : v);
  const values =
    t.data instanceof BigInt64Array ? Array.from(t.data, String) : Array.from(t.data as ArrayLike<number>, num);
  return { dtype: names[t.dtype], shape: t.shape, values };
}
