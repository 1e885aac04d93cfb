/** The TypeScript safetensors codec against Python's reference implementation, both directions (live). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { decodeSafetensors, encodeSafetensors } from "../../src/persist/safetensors.js";
import { ALL, describeTensor, type Described } from "../helpers/safetensors-samples.js";

describe("agrees with Python's safetensors package", () => {
  const dir = mkdtempSync(join(tmpdir(), "lmprobe-ts-safetensors-"));
  const fixture = join(import.meta.dirname, "..", "fixtures", "safetensors_roundtrip.py");
  const python = (mode: "read" | "write", path: string) =>
    JSON.parse(execFileSync(inject("python"), [fixture, mode, path], { encoding: "utf8" })) as Described;

  it("Python reads what TypeScript writes", () => {
    const metadata = { format: "lmprobe", classes: '["no","yes"]' };
    const withoutBf16 = Object.fromEntries(Object.entries(ALL).filter(([, t]) => t.dtype !== "BF16"));
    // Without BF16 the fixture also checks safetensors.numpy.load_file; with it, safe_open + deserialize.
    for (const [file, tensors] of [
      ["numpy.safetensors", withoutBf16],
      ["all.safetensors", ALL],
    ] as const) {
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
    expect(Object.fromEntries(Object.entries(got.tensors).map(([n, t]) => [n, describeTensor(t)]))).toEqual(
      expected.tensors,
    );
  });
});
