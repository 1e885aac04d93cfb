/**
 * The native folder's contract (`native.json`): what `probe.exportNative(dir)` writes and what
 * `NativeProbe.load(dir)` reads. A native folder holds the model truncated after the probe's
 * highest block as ONNX, the tokenizer, and the probe as `Probe.save` writes it:
 *
 * ```
 * DIR/native.json     this manifest
 * DIR/model.onnx      (+ external data files for large models)
 * DIR/tokenizer.json  the fast tokenizer's own JSON (normalizer, pre-tokenizer, post-processor)
 * DIR/probe/          probe.json + probe.safetensors
 * ```
 *
 * Every file is listed in `files` with its sha256, so a tampered or truncated file fails loudly
 * ({@link verifyNativeFolder}); a folder from a newer format is refused rather than misread.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, resolve, sep } from "node:path";
import { z } from "zod";
import { ProbeFileError } from "../errors.js";
import { errorMessage } from "../internal/unknown-values.js";
import { recoverFolder } from "../persist/atomic-folder.js";

/** The `format` of a native folder's manifest. */
export const NATIVE_FORMAT = "lmprobe-ts-native";
/** Version of the native format this build writes; newer folders are refused. */
export const NATIVE_FORMAT_VERSION = 1;
/** The manifest's file name inside a native folder. */
export const NATIVE_MANIFEST = "native.json";
/** The ONNX model's input names, in order: int64 `[batch, sequence]` each. */
export const NATIVE_INPUTS = ["input_ids", "attention_mask"] as const;

const int = z.number().int();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 must be 64 lowercase hex digits");
/** A path inside the folder: relative, `/`-separated, never leaving it. */
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !p.includes("\\") && !p.split("/").some((s) => s === ".." || s === ""), {
    message: "file paths must be relative and stay inside the folder",
  });

/** Schema of `native.json` (format version 1). Unknown keys are kept out: the folder is untrusted input. */
export const nativeManifestSchema = z.strictObject({
  format: z.literal(NATIVE_FORMAT),
  formatVersion: z.literal(NATIVE_FORMAT_VERSION),
  createdAt: z.string(),
  createdBy: z.strictObject({
    /** The lmprobe-ts version that exported the folder. */
    lmprobeTs: z.string(),
    torch: z.string(),
    transformers: z.string(),
    /** Which torch exporter wrote the ONNX graph: `"dynamo"` (torch.export) or `"torchscript"`. */
    exporter: z.enum(["dynamo", "torchscript"]),
    opset: int.positive(),
  }),
  model: z.strictObject({
    /** The model as the probe names it (hub id, local path or `embedded:NAME`). */
    id: z.string(),
    /** The hub commit the weights came from, when the model is a hub id. */
    revision: z.string().nullable(),
    /** The SDK's model identity (the activation cache's model key: hub sha, embedded hash or folder digest). */
    fingerprint: z.string(),
    /** The transformers architecture, e.g. `LlamaForCausalLM`. */
    architecture: z.string(),
    /** Decoder blocks of the full model (the ONNX graph runs blocks 0..max(layer) only). */
    numLayers: int.positive(),
    hiddenSize: int.positive(),
    /** Token positions the model takes (prompts longer than this are refused); null when the config says nothing. */
    maxPositions: int.positive().nullable(),
  }),
  onnx: z.strictObject({
    file: relativePath,
    /** External-data files the ONNX graph refers to (empty when the weights are inside `file`). */
    externalData: z.array(relativePath),
    inputs: z.tuple([z.literal("input_ids"), z.literal("attention_mask")]),
    /**
     * One output per probed layer, `float32 [batch, sequence, hidden]`: the output of decoder block
     * `layer` (no final norm), exactly what the worker's extraction reads for that layer index.
     */
    outputs: z.array(z.strictObject({ name: z.string().regex(/^hidden_\d+$/), layer: int.nonnegative() })).min(1),
    dtype: z.literal("float32"),
  }),
  tokenizer: z.strictObject({
    file: relativePath,
    /** Where pads go in a batch (the tokenizer's own side, as the worker uses it). */
    paddingSide: z.enum(["left", "right"]),
    /**
     * The worker tokenizes with special tokens added; `tokenizer.json`'s post-processor adds them
     * (checked at export: the exported JSON gives the same ids as the worker's tokenizer).
     */
    addSpecialTokens: z.literal(true),
    /** Whether the post-processor puts a BOS token first / an EOS token last (informative). */
    addsBos: z.boolean(),
    addsEos: z.boolean(),
    /** The pad id used for batches; pad = eos when the tokenizer has no pad token (`padIsEos`). */
    padTokenId: int.nonnegative(),
    padIsEos: z.boolean(),
    bosTokenId: int.nonnegative().nullable(),
    eosTokenId: int.nonnegative().nullable(),
    /** The tokenizer's `model_max_length` (null when unset or the "very large" placeholder). */
    modelMaxLength: int.positive().nullable(),
  }),
  /** The probe folder, as `Probe.save` writes it (probe.json + probe.safetensors). */
  probe: relativePath,
  /** sha256 of every file of the folder except `native.json` itself, by relative path. */
  files: z.record(relativePath, sha256Hex),
});

/** A native folder's manifest (`native.json`). */
export type NativeManifest = z.infer<typeof nativeManifestSchema>;

/** sha256 of a file, streamed (ONNX files run to gigabytes). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function fail(dir: string, message: string, cause?: unknown): never {
  throw new ProbeFileError(
    dir,
    `Cannot load the native folder ${dir}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** The files a manifest says the folder must have: each must be hashed in `files`. */
export function requiredFiles(manifest: NativeManifest): string[] {
  const probe = manifest.probe.replace(/\/+$/, "");
  return [
    manifest.onnx.file,
    ...manifest.onnx.externalData,
    manifest.tokenizer.file,
    `${probe}/probe.json`,
    `${probe}/probe.safetensors`,
  ];
}

/**
 * Reads and checks `DIR/native.json` (structure and format version; no file hashes). An export
 * that crashed between its two renames left the previous folder aside: it is moved back first.
 * @throws ProbeFileError when it is missing, not JSON, from a newer format, or malformed.
 */
export async function readNativeManifest(dir: string): Promise<NativeManifest> {
  const folder = resolve(dir);
  await recoverFolder(folder);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(folder, NATIVE_MANIFEST), "utf8"));
  } catch (err) {
    fail(
      folder,
      `${NATIVE_MANIFEST} is missing or not JSON (${errorMessage(err)}); export it with probe.exportNative(dir)`,
      err,
    );
  }
  const head = (raw ?? {}) as { format?: unknown; formatVersion?: unknown };
  if (head.format !== NATIVE_FORMAT) {
    fail(folder, `${NATIVE_MANIFEST} has format ${JSON.stringify(head.format)}, expected "${NATIVE_FORMAT}"`);
  }
  if (typeof head.formatVersion === "number" && head.formatVersion > NATIVE_FORMAT_VERSION) {
    fail(
      folder,
      `it was written in native format ${head.formatVersion}, newer than this lmprobe-ts reads ` +
        `(${NATIVE_FORMAT_VERSION}); upgrade lmprobe-ts or export the probe again with this version`,
    );
  }
  const parsed = nativeManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(folder, `${NATIVE_MANIFEST} is malformed at ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const manifest = parsed.data;
  const layers = manifest.onnx.outputs.map((o) => o.layer);
  if (new Set(layers).size !== layers.length || manifest.onnx.outputs.some((o) => o.name !== `hidden_${o.layer}`)) {
    fail(folder, `${NATIVE_MANIFEST} lists outputs that are not one "hidden_<layer>" per distinct layer`);
  }
  if (layers.some((l) => l >= manifest.model.numLayers)) {
    fail(folder, `${NATIVE_MANIFEST} lists a layer beyond the model's ${manifest.model.numLayers} blocks`);
  }
  for (const file of requiredFiles(manifest)) {
    if (!(file in manifest.files)) fail(folder, `${NATIVE_MANIFEST} has no sha256 for ${file}`);
  }
  return manifest;
}

/**
 * Reads the manifest and checks every listed file: present, a regular file, and matching its
 * sha256. Returns the manifest.
 * @throws ProbeFileError naming the first missing or mismatching file.
 */
export async function verifyNativeFolder(dir: string): Promise<NativeManifest> {
  const folder = resolve(dir);
  const manifest = await readNativeManifest(folder);
  for (const [file, expected] of Object.entries(manifest.files)) {
    const path = normalize(join(folder, file));
    if (!path.startsWith(folder + sep)) fail(folder, `${file} points outside the folder`);
    try {
      if (!(await stat(path)).isFile()) fail(folder, `${file} is not a file`);
    } catch (err) {
      if (err instanceof ProbeFileError) throw err;
      fail(folder, `${file} is missing (${errorMessage(err)}); export the probe again`, err);
    }
    const actual = await sha256File(path);
    if (actual !== expected) {
      fail(
        folder,
        `${file} does not match its sha256 in ${NATIVE_MANIFEST} (tampered with or truncated); ` +
          "export the probe again",
      );
    }
  }
  return manifest;
}
