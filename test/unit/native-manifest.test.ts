/**
 * The native folder's manifest (src/native/manifest.ts) on hand-made folders, no Python: a folder
 * whose files match their hashes verifies; a tampered, truncated or missing file, a newer format,
 * a path leaving the folder or an unhashed required file fail with ProbeFileError naming it.
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProbeFileError } from "../../src/errors.js";
import {
  NATIVE_FORMAT_VERSION,
  NATIVE_MANIFEST,
  readNativeManifest,
  verifyNativeFolder,
  type NativeManifest,
} from "../../src/native/manifest.js";

const root = mkdtempSync(join(tmpdir(), "native-manifest-"));
let n = 0;

const CONTENT: Record<string, string> = {
  "model.onnx": "graph bytes",
  "model.onnx.data": "weight bytes",
  "tokenizer.json": '{"model": {}}',
  "probe/probe.json": '{"format": "lmprobe-ts/probe"}',
  "probe/probe.safetensors": "tensors",
};

/** A complete native folder whose manifest `edit` may change; returns its path. */
function makeFolder(edit: (m: NativeManifest) => unknown = (m) => m): string {
  const dir = join(root, `case${n++}`);
  mkdirSync(join(dir, "probe"), { recursive: true });
  const files: Record<string, string> = {};
  for (const [file, text] of Object.entries(CONTENT)) {
    writeFileSync(join(dir, file), text);
    files[file] = createHash("sha256").update(text).digest("hex");
  }
  const manifest: NativeManifest = {
    format: "lmprobe-ts-native",
    formatVersion: NATIVE_FORMAT_VERSION,
    createdAt: "2026-12-01T00:00:00.000Z",
    createdBy: { lmprobeTs: "0.1.0", torch: "2.13.0", transformers: "5.24.0", exporter: "dynamo", opset: 20 },
    model: {
      id: "embedded:smollm2-135m",
      revision: null,
      fingerprint: "f".repeat(64),
      architecture: "LlamaForCausalLM",
      numLayers: 30,
      hiddenSize: 576,
      maxPositions: 8192,
    },
    onnx: {
      file: "model.onnx",
      externalData: ["model.onnx.data"],
      inputs: ["input_ids", "attention_mask"],
      outputs: [{ name: "hidden_16", layer: 16 }],
      dtype: "float32",
    },
    tokenizer: {
      file: "tokenizer.json",
      paddingSide: "left",
      addSpecialTokens: true,
      addsBos: false,
      addsEos: false,
      padTokenId: 0,
      padIsEos: true,
      bosTokenId: 1,
      eosTokenId: 0,
      modelMaxLength: 8192,
    },
    probe: "probe",
    files,
  };
  writeFileSync(join(dir, NATIVE_MANIFEST), JSON.stringify(edit(structuredClone(manifest))));
  return dir;
}

const rejection = (dir: string, pattern: RegExp) =>
  expect(verifyNativeFolder(dir)).rejects.toSatisfy(
    (err: unknown) => err instanceof ProbeFileError && err.code === "PROBE_FILE" && pattern.test(err.message),
  );

describe("native.json", () => {
  it("a folder whose files match their hashes verifies and reads back as written", async () => {
    const dir = makeFolder();
    const manifest = await verifyNativeFolder(dir);
    expect(manifest.onnx.outputs).toEqual([{ name: "hidden_16", layer: 16 }]);
    expect(await readNativeManifest(dir)).toEqual(manifest);
  });

  it.each(["model.onnx", "model.onnx.data", "tokenizer.json", "probe/probe.safetensors"])(
    "a tampered %s fails its sha256",
    async (file) => {
      const dir = makeFolder();
      appendFileSync(join(dir, file), "x");
      await rejection(dir, new RegExp(`${file.replace(/\./g, "\\.")} does not match its sha256`));
    },
  );

  it("a missing file is named", async () => {
    const dir = makeFolder();
    rmSync(join(dir, "tokenizer.json"));
    await rejection(dir, /tokenizer\.json is missing/);
  });

  it("a newer format version is refused with the fix", async () => {
    const dir = makeFolder((m) => ({ ...m, formatVersion: NATIVE_FORMAT_VERSION + 1 }));
    await rejection(dir, /newer than this lmprobe-ts reads.*upgrade lmprobe-ts/);
  });

  it("paths leaving the folder, unhashed required files and bad JSON are refused", async () => {
    await rejection(
      makeFolder((m) => ({ ...m, files: { ...m.files, "../outside": "0".repeat(64) } })),
      /malformed at files/,
    );
    await rejection(
      makeFolder((m) => {
        delete m.files["probe/probe.json"];
        return m;
      }),
      /no sha256 for probe\/probe\.json/,
    );
    await rejection(
      makeFolder((m) => ({ ...m, onnx: { ...m.onnx, outputs: [{ name: "hidden_3", layer: 16 }] } })),
      /hidden_<layer>/,
    );
    const dir = makeFolder();
    writeFileSync(join(dir, NATIVE_MANIFEST), "{not json");
    await rejection(dir, /native\.json is missing or not JSON/);
    await rejection(join(root, "no-such-folder"), /native\.json is missing/);
  });
});
