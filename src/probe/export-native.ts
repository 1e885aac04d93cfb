/**
 * `probe.exportNative(dir)`: a native folder (see native/manifest.ts) that `NativeProbe` runs
 * without Python. The worker writes the model truncated after the probe's highest block as ONNX
 * and `tokenizer.json` into a temporary sibling of `dir`; the probe is saved beside them as
 * `probe/`, every file is hashed into `native.json` (written last), and the folder is swapped in
 * crash-safely (persist/atomic-folder.ts), so `dir` is always absent, the old folder, or complete.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { ActivationCache } from "../cache/activation-cache.js";
import { modelCacheKey } from "../cache/model-identity.js";
import type { ResolvedProbeOptions } from "../config/probe-options.js";
import { cacheMaxGb, defaultCacheDir } from "../env/paths.js";
import type { FittedState } from "../estimator/fitted-state.js";
import { resolveInferencePooling } from "../estimator/pooling.js";
import { AbortError, InvalidInputError, NotSupportedError } from "../errors.js";
import { resolveModel } from "../models/resolve-model.js";
import {
  NATIVE_FORMAT,
  NATIVE_FORMAT_VERSION,
  NATIVE_INPUTS,
  NATIVE_MANIFEST,
  nativeManifestSchema,
  sha256File,
  type NativeManifest,
} from "../native/manifest.js";
import { replaceFolderWith } from "../persist/atomic-folder.js";
import { saveProbe } from "../persist/probe-file.js";
import { exportedGraphFromWire, exportNativeRequest, type ExportedGraph } from "../protocol/export-native.js";
import type { CallOptions } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { errorCode, parseJsonObject } from "../internal/unknown-values.js";

/** What `exportNative` reports. */
export interface NativeExportResult {
  /** The folder written (absolute). */
  path: string;
  manifest: NativeManifest;
  /** Bytes of the ONNX graph and its external data. */
  onnxBytes: number;
  /** Seconds the worker spent (model load, tracing and writing the graph), and the whole export. */
  seconds: { worker: number; total: number };
}

const PROBE_DIR = "probe";
const ONNX_FILE = "model.onnx";
const TOKENIZER_FILE = "tokenizer.json";

/**
 * Why a probe cannot run natively, or undefined when it can. The native runtime runs the ONNX
 * graph in float32 on local weights and scores with the TypeScript scoring of fitted arrays.
 */
export function nativeUnsupported(options: Readonly<ResolvedProbeOptions>, state: FittedState): string | undefined {
  if (options.model === undefined) {
    return (
      "the probe has no model (it was fitted with fitFromActivations alone), so there is nothing to export; " +
      "create it with the model option set to the model its activations came from"
    );
  }
  if (options.remote !== false) {
    return (
      "the probe extracts on NDIF (remote), so no local weights are exported; load it with " +
      "Probe.load(path, { remote: false }) on a machine that has the model, then export"
    );
  }
  if (options.dtype !== "float32") {
    return (
      `the probe's model runs in ${options.dtype}; the native runtime runs float32 only, so its activations ` +
      'would differ from those it was trained on. Train the probe with dtype: "float32" to export it'
    );
  }
  if (state.model.kind === "opaque") {
    return (
      `its classifier ${state.model.estimator} has no array form (it lives in the Python worker); ` +
      "use a built-in classifier or a linear scikit-learn estimator"
    );
  }
  const how = resolveInferencePooling(options.pooling, options.inferencePooling);
  if (how.stage === "activation" && (how.reduction === "max" || how.reduction === "min")) {
    return (
      `its inference pooling activation:${how.reduction} is not supported natively (activations pool by ` +
      'last_token, first_token or mean; score-level poolings and "all" are supported)'
    );
  }
  return undefined;
}

/**
 * The export replaces `dir` as a whole: refuse an existing folder that is neither empty nor a
 * native folder (its content would be deleted), and anything that is not a folder.
 */
async function checkTarget(target: string): Promise<void> {
  const entries: string[] = await readdir(target).catch((err: unknown) => {
    if (errorCode(err) === "ENOENT") return [];
    throw new InvalidInputError("dir", `exportNative(): ${target} exists and is not a folder; choose a new folder.`, {
      cause: err,
    });
  });
  if (entries.length > 0 && !entries.includes(NATIVE_MANIFEST)) {
    throw new InvalidInputError(
      "dir",
      `exportNative(): ${target} is not empty and holds no ${NATIVE_MANIFEST}; exporting would replace it. ` +
        "Choose a new or empty folder (an earlier export there is replaced).",
    );
  }
}

/** Package version, read from package.json beside src/ and dist/ (no import of the env layer). */
async function packageVersion(): Promise<string> {
  const text = await readFile(new URL("../../package.json", import.meta.url), "utf8");
  return String(parseJsonObject(text).version);
}

/** Every file under `dir`, as `/`-separated relative paths. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
    .sort();
}

/** The SDK's model identity (the activation cache's model key), with a throwaway cache when caching is off. */
async function fingerprint(
  options: Readonly<ResolvedProbeOptions>,
  model: Awaited<ReturnType<typeof resolveModel>>,
): Promise<string> {
  const dir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const scratch = dir === null ? await mkdtemp(join(tmpdir(), "lmprobe-ts-export-")) : undefined;
  const cache = new ActivationCache(scratch ?? dir!, { maxGb: cacheMaxGb() });
  try {
    return (await modelCacheKey(model, { backend: options.backend, dtype: options.dtype }, cache)).modelKey;
  } finally {
    cache.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

function manifestOf(
  graph: ExportedGraph,
  options: Readonly<ResolvedProbeOptions>,
  model: { revision?: string | undefined },
  ids: { fingerprint: string; version: string },
  files: Record<string, string>,
): NativeManifest {
  const t = graph.tokenizer;
  return nativeManifestSchema.parse({
    format: NATIVE_FORMAT,
    formatVersion: NATIVE_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    createdBy: {
      lmprobeTs: ids.version,
      torch: graph.versions.torch ?? "unknown",
      transformers: graph.versions.transformers ?? "unknown",
      exporter: graph.exporter,
      opset: graph.opset,
    },
    model: {
      id: options.model,
      revision: model.revision ?? null,
      fingerprint: ids.fingerprint,
      architecture: graph.architecture,
      numLayers: graph.numLayers,
      hiddenSize: graph.hiddenSize,
      maxPositions: graph.maxPositions,
    },
    onnx: {
      file: graph.onnxFile,
      externalData: graph.externalData,
      inputs: [...NATIVE_INPUTS],
      outputs: graph.outputs,
      dtype: "float32",
    },
    tokenizer: {
      file: graph.tokenizerFile,
      paddingSide: t.paddingSide,
      addSpecialTokens: true,
      addsBos: t.addsBos,
      addsEos: t.addsEos,
      padTokenId: t.padTokenId,
      padIsEos: t.padIsEos,
      bosTokenId: t.bosTokenId,
      eosTokenId: t.eosTokenId,
      modelMaxLength: t.modelMaxLength,
    },
    probe: PROBE_DIR,
    files,
  });
}

/**
 * Exports a fitted probe, its model truncated after its highest layer, and its tokenizer to `dir`.
 * @throws {NotSupportedError} when the probe cannot run natively (see {@link nativeUnsupported}).
 */
export async function exportNativeFolder(
  runtime: PythonRuntime,
  options: Readonly<ResolvedProbeOptions>,
  state: FittedState,
  dir: string,
  call: CallOptions = {},
): Promise<NativeExportResult> {
  const started = performance.now();
  const why = nativeUnsupported(options, state);
  if (why) throw new NotSupportedError("exportNative", `exportNative() cannot export this probe: ${why}.`);
  const { signal, onProgress } = call;
  const target = resolve(dir);
  await checkTarget(target);
  const model = await resolveModel(options.model!, {
    runtime,
    ...(options.revision ? { revision: options.revision } : {}),
    ...(signal ? { signal } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  const ids = { fingerprint: await fingerprint(options, model), version: await packageVersion() };
  let manifest: NativeManifest | undefined;
  let graph: ExportedGraph | undefined;
  let onnxBytes = 0;
  await replaceFolderWith(target, async (temp) => {
    const request = exportNativeRequest({
      model: model.path,
      layers: state.layers,
      outDir: temp,
      onnxFile: ONNX_FILE,
      tokenizerFile: TOKENIZER_FILE,
    });
    const callOptions = { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) };
    graph = exportedGraphFromWire(await runtime.call("export_native", request, callOptions));
    await saveProbe(join(temp, PROBE_DIR), options, state);
    if (signal?.aborted) throw new AbortError({ cause: signal.reason });
    onProgress?.({ type: "export", phase: "hashing", path: target });
    const files: Record<string, string> = {};
    for (const file of await listFiles(temp)) files[file] = await sha256File(join(temp, file));
    manifest = manifestOf(graph, options, model, ids, files);
    const graphFiles = [manifest.onnx.file, ...manifest.onnx.externalData];
    for (const file of graphFiles) onnxBytes += (await stat(join(temp, file))).size;
    await writeFile(join(temp, NATIVE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { flush: true });
  });
  onProgress?.({ type: "export", phase: "written", path: target });
  return {
    path: target,
    manifest: manifest!,
    onnxBytes,
    seconds: { worker: graph!.workerSeconds, total: (performance.now() - started) / 1000 },
  };
}
