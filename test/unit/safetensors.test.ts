import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, SafetensorsFormatError, type NamedTensor } from "../../src/persist/safetensors.js";

/** Every dtype, with ordinary, scalar ([]) and empty ([0]) shapes and edge values. */
const ALL: Record<string, NamedTensor> = {
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

/** Builds a file from a hand-written header (object or raw string) and a data region. */
function raw(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(declaredLength ?? BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (offsets: unknown, shape: unknown = [1]) => ({ dtype: "F32", shape, data_offsets: offsets });

/** The JSON form the Python fixture prints, for comparing values exactly. */
function describeTensor(t: NamedTensor): { dtype: string; shape: number[]; values: unknown[] } {
  const names = { F64: "float64", F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64", I32: "int32", I16: "int16", I8: "int8", U8: "uint8", BOOL: "bool" };
  // JSON has no Infinity/NaN: the fixture writes them as Python's str() does.
  const num = (v: number) => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : v);
  const values = t.data instanceof BigInt64Array ? Array.from(t.data, String) : Array.from(t.data as ArrayLike<number>, num);
  return { dtype: names[t.dtype], shape: t.shape, values };
}

describe("safetensors codec", () => {
  it("round-trips every dtype, scalar and empty shapes, and metadata", () => {
    const metadata = { format: "lmprobe", "ünïcode": "✓ \"quoted\"", empty: "" };
    const bytes = encodeSafetensors(ALL, metadata);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual(metadata);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(ALL).sort());
    for (const [name, t] of Object.entries(ALL)) {
      const got = back.tensors[name]!;
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(describeTensor(got)).toEqual(describeTensor(t));
    }
    expect(decodeSafetensors(encodeSafetensors({})).tensors).toEqual({});
    expect(decodeSafetensors(encodeSafetensors(ALL)).metadata).toEqual({});
    expect(encodeSafetensors(ALL, metadata).equals(bytes)).toBe(true);
  });

  it("decodes from unaligned memory into aligned copies", () => {
    const bytes = encodeSafetensors({ a: { dtype: "F64", shape: [2], data: Float64Array.from([1.5, -2]) } });
    // A Buffer on purpose: Buffer#slice returns a view, which once leaked the whole file here.
    const shifted = Buffer.alloc(bytes.length + 3);
    bytes.copy(shifted, 3);
    const { data } = decodeSafetensors(shifted.subarray(3)).tensors.a!;
    shifted.fill(0);
    expect(Array.from(data as Float64Array)).toEqual([1.5, -2]);
    expect([data.byteOffset, data.buffer.byteLength]).toEqual([0, 16]);
  });

  it("keeps a tensor named __proto__ as an ordinary key", () => {
    const back = decodeSafetensors(encodeSafetensors({ ["__proto__"]: ALL.f32! }));
    expect(Object.keys(back.tensors)).toEqual(["__proto__"]);
  });

  const four = new Uint8Array(4);
  const malformed: [string, Uint8Array][] = [
    ["shorter than 8 bytes", new Uint8Array(7)],
    ["header length beyond the file", raw("{}", four, 100n)],
    ["header length over 100 MB", raw("{}", four, 200_000_000n)],
    ["header not JSON", raw("{nope")],
    ["header not UTF-8", raw(Buffer.from([0x7b, 0xff, 0x7d]).toString("latin1"))],
    ["header an array", raw("[]")],
    ["header null", raw("null")],
    ["tensor entry not an object", raw({ a: 3 })],
    ["unknown dtype", raw({ a: { dtype: "F8", shape: [1], data_offsets: [0, 4] } }, four)],
    ["negative shape", raw({ a: f32([0, 4], [-1]) }, four)],
    ["fractional shape", raw({ a: f32([0, 4], [1.5]) }, four)],
    ["shape not an array", raw({ a: f32([0, 4], 1) }, four)],
    ["offsets missing", raw({ a: f32(undefined) }, four)],
    ["offsets of length 3", raw({ a: f32([0, 2, 4]) }, four)],
    ["offsets not integers", raw({ a: f32(["0", "4"]) }, four)],
    ["byte length != shape × dtype size", raw({ a: f32([0, 4], [2]) }, four)],
    ["offsets reversed", raw({ a: f32([4, 0]) }, four)],
    ["offsets past the end", raw({ a: f32([0, 4]) }, new Uint8Array(2))],
    ["overlapping tensors", raw({ a: f32([0, 4]), b: f32([2, 6]) }, new Uint8Array(8))],
    ["aliased tensors", raw({ a: f32([0, 4]), b: f32([0, 4]) }, four)],
    ["gap between tensors", raw({ a: f32([0, 4]), b: f32([8, 12]) }, new Uint8Array(12))],
    ["trailing bytes", raw({ a: f32([0, 4]) }, new Uint8Array(6))],
    ["metadata not an object", raw({ __metadata__: "x" })],
    ["metadata value not a string", raw({ __metadata__: { n: 1 } })],
  ];
  it.each(malformed)("rejects %s", (_, bytes) => {
    expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsFormatError);
  });

  it("names the source file and rejects truncation anywhere", () => {
    expect(() => decodeSafetensors(raw("[]"), "/tmp/probe.safetensors")).toThrow(/\/tmp\/probe\.safetensors: header is not a JSON object/);
    const bytes = encodeSafetensors(ALL, { k: "v" });
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    for (const cut of [0, 1, 7, 8, 9, headerEnd >> 1, headerEnd - 1, headerEnd, headerEnd + 1, bytes.length - 1]) {
      expect(() => decodeSafetensors(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(SafetensorsFormatError);
    }
  });

  it("rejects inconsistent tensors on encode", () => {
    const bad: Record<string, NamedTensor>[] = [
      { a: { dtype: "F32", shape: [3], data: new Float32Array(2) } },
      { a: { dtype: "F32", shape: [2], data: new Float64Array(2) } },
      { a: { dtype: "F9" as "F32", shape: [1], data: new Float32Array(1) } },
      { a: { dtype: "F32", shape: [-1], data: new Float32Array(0) } },
      { __metadata__: ALL.f32! },
    ];
    for (const tensors of bad) expect(() => encodeSafetensors(tensors)).toThrow(SafetensorsFormatError);
    expect(() => encodeSafetensors({}, { n: 1 as unknown as string })).toThrow(SafetensorsFormatError);
  });

  describe("agrees with Python's safetensors package", () => {
    const dir = mkdtempSync(join(tmpdir(), "lmprobe-ts-safetensors-"));
    const fixture = join(import.meta.dirname, "..", "fixtures", "safetensors_roundtrip.py");
    const python = (mode: "read" | "write", path: string) =>
      JSON.parse(execFileSync(inject("python"), [fixture, mode, path], { encoding: "utf8" })) as {
        metadata: Record<string, string>;
        tensors: Record<string, ReturnType<typeof describeTensor>>;
      };

    it("Python reads what TypeScript writes", () => {
      const metadata = { format: "lmprobe", classes: "[\"no\",\"yes\"]" };
      const withoutBf16 = Object.fromEntries(Object.entries(ALL).filter(([, t]) => t.dtype !== "BF16"));
      // Without BF16 the fixture also checks safetensors.numpy.load_file; with it, safe_open + deserialize.
      for (const [file, tensors] of [["numpy.safetensors", withoutBf16], ["all.safetensors", ALL]] as const) {
        const path = join(dir, file);
        writeFileSync(path, encodeSafetensors(tensors, metadata));
        const got = python("read", path);
        expect(got.metadata).toEqual(metadata);
        expect(got.tensors).toEqual(Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, describeTensor(t)])));
      }
    });

    it("TypeScript reads what Python writes", () => {
      const path = join(dir, "from-python.safetensors");
      const expected = python("write", path);
      const got = decodeSafetensors(readFileSync(path), path);
      expect(got.metadata).toEqual(expected.metadata);
      expect(Object.fromEntries(Object.entries(got.tensors).map(([n, t]) => [n, describeTensor(t)]))).toEqual(expected.tensors);
    });
  });
});
