import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsFormatError,
  type NamedTensor,
} from "../../src/persist/safetensors.js";
import { ALL, describeTensor, type Described } from "../helpers/safetensors-samples.js";

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

describe("safetensors codec", () => {
  it("round-trips every dtype, scalar and empty shapes, and metadata", () => {
    const metadata = { format: "lmprobe", ünïcode: '✓ "quoted"', empty: "" };
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
    expect(() => decodeSafetensors(raw("[]"), "/tmp/probe.safetensors")).toThrow(
      /\/tmp\/probe\.safetensors: header is not a JSON object/,
    );
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

  it(
    "reads a file written by Python's safetensors " +
      "(committed fixture; the live cross-check is an integration test)",
    () => {
      const golden = join(import.meta.dirname, "..", "fixtures", "golden");
      const path = join(golden, "from-python.safetensors");
      const expected = JSON.parse(readFileSync(join(golden, "from-python.json"), "utf8")) as Described;
      const got = decodeSafetensors(readFileSync(path), path);
      expect(got.metadata).toEqual(expected.metadata);
      expect(Object.fromEntries(Object.entries(got.tensors).map(([n, t]) => [n, describeTensor(t)]))).toEqual(
        expected.tensors,
      );
    },
  );
});
