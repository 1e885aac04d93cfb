/**
 * probe.exportNative / `lmprobe export` through the real worker and torch's ONNX exporter on the
 * tiny models: the exported graph, run by onnxruntime-node on padded batches tokenized with the
 * exported tokenizer.json, gives the hidden states the worker's extraction gives (1e-4); the
 * manifest's hashes verify; probes that cannot run natively are refused before any export.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { execa } from "execa";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { InvalidInputError, NotSupportedError, Probe, PythonRuntime } from "../../src/index.js";
import { verifyNativeFolder, type NativeManifest } from "../../src/native/manifest.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());
const root = mkdtempSync(join(tmpdir(), "native-export-"));
const cacheDir = join(root, "cache");
const cliPath = new URL("../../dist/cli/main.js", import.meta.url).pathname;

// Lengths from 1-2 tokens to a few dozen, so every batch is padded (left for llama, right for gpt2).
const PROMPTS = [
  "x",
  "The cat sat on the mat.",
  "Paris is the capital of France. The quick brown fox jumps over the lazy dog. 1 2 3 4 5 6 7 8 9 0",
  "Emoji 🙂 and café",
  "  spaces   and\ttabs\n",
];

/** Runs the exported graph on one padded batch and returns each prompt's real-token rows per layer. */
async function nativeHidden(dir: string, manifest: NativeManifest, prompts: string[]) {
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(dir, manifest.tokenizer.file), "utf8")), {});
  const ids: number[][] = prompts.map((p) => tokenizer.encode(p, { add_special_tokens: true }).ids);
  const width = Math.max(...ids.map((r) => r.length));
  const inputIds = new BigInt64Array(prompts.length * width).fill(BigInt(manifest.tokenizer.padTokenId));
  const mask = new BigInt64Array(prompts.length * width);
  ids.forEach((row, r) => {
    const start = r * width + (manifest.tokenizer.paddingSide === "left" ? width - row.length : 0);
    row.forEach((id, t) => {
      inputIds[start + t] = BigInt(id);
      mask[start + t] = 1n;
    });
  });
  const session = await ort.InferenceSession.create(join(dir, manifest.onnx.file));
  try {
    const shape = [prompts.length, width];
    const out = await session.run({
      input_ids: new ort.Tensor("int64", inputIds, shape),
      attention_mask: new ort.Tensor("int64", mask, shape),
    });
    const hidden = manifest.model.hiddenSize;
    // (real tokens, layers, hidden), prompt by prompt: the worker's pooling "none" layout.
    const rows: number[] = [];
    ids.forEach((row, r) => {
      const start = manifest.tokenizer.paddingSide === "left" ? width - row.length : 0;
      for (let t = start; t < start + row.length; t++)
        for (const o of manifest.onnx.outputs) {
          const data = out[o.name]!.data as Float32Array;
          rows.push(...data.subarray((r * width + t) * hidden, (r * width + t + 1) * hidden));
        }
    });
    return { rows: Float32Array.from(rows), lengths: ids.map((r) => r.length) };
  } finally {
    await session.release();
  }
}

describe("probe.exportNative", () => {
  it.each([
    ["llama", [1, 3]],
    ["gpt2", [0]],
  ] as const)(
    "%s: the exported ONNX gives the worker's hidden states (1e-4) on a padded batch",
    async (name, layers) => {
      const model = models[name];
      const probe = new Probe({
        model: model.path,
        layers: [...layers],
        pooling: "mean",
        randomState: 0,
        runtime,
        cacheDir,
      });
      await probe.fit(CATS, DOGS);
      const dir = join(root, `${name}-native`);
      const result = await probe.exportNative(dir);
      const manifest = await verifyNativeFolder(dir);
      expect(manifest).toEqual(result.manifest);
      expect(manifest.onnx.outputs).toEqual(layers.map((l) => ({ name: `hidden_${l}`, layer: l })));
      expect(manifest.model).toMatchObject({
        id: model.path,
        numLayers: model.num_layers,
        hiddenSize: model.hidden_size,
      });
      expect(manifest.tokenizer).toMatchObject({
        paddingSide: model.padding_side,
        padIsEos: true,
        addsBos: name === "llama",
      });
      expect(Object.keys(manifest.files).sort()).toEqual(
        ["model.onnx", "probe/probe.json", "probe/probe.safetensors", "tokenizer.json"].sort(),
      );
      expect(result.onnxBytes).toBeGreaterThan(0);
      // The probe inside is the probe: loading it predicts what the exported one does.
      const inner = await Probe.load(join(dir, manifest.probe), { runtime, cacheDir });
      expect(await inner.predictProba(PROMPTS)).toEqual(await probe.predictProba(PROMPTS));

      const native = await nativeHidden(dir, manifest, PROMPTS);
      const ref = await runtime.call("extract", {
        model: model.path,
        prompts: PROMPTS,
        layers: [...layers],
        pooling: "none",
        batch_size: PROMPTS.length,
        dtype: "float32",
        device: "cpu",
        group_by_length: false,
      });
      // the exported tokenizer gives as many tokens per prompt as the worker's tokenizer
      expect(native.lengths).toEqual(Array.from(ref.lengths.data as Int32Array));
      const want = ref.activations.data as Float32Array;
      expect(native.rows.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(native.rows[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-4);
    },
  );

  it("refuses what cannot run natively, naming it, before anything is exported", async () => {
    const base = { model: models.gpt2.path, layers: 1, randomState: 0, runtime, cacheDir } as const;
    const maxPooled = new Probe({ ...base, inferencePooling: "activation:max" });
    await maxPooled.fit(CATS, DOGS);
    const dir = join(root, "refused");
    await expect(maxPooled.exportNative(dir)).rejects.toThrow(NotSupportedError);
    await expect(maxPooled.exportNative(dir)).rejects.toThrow(/activation:max/);
    const noModel = new Probe({ layers: 0, randomState: 0, runtime });
    await noModel.fitFromActivations(
      [
        [0, 1],
        [1, 0],
        [0, 2],
        [2, 0],
      ],
      [1, 0, 1, 0],
    );
    await expect(noModel.exportNative(dir)).rejects.toThrow(/has no model/);
    expect(existsSync(dir)).toBe(false);
    // A non-empty folder that is not an export is never replaced.
    const fitted = new Probe(base);
    await fitted.fit(CATS, DOGS);
    await expect(fitted.exportNative(root)).rejects.toThrow(InvalidInputError);
  });

  it("lmprobe export PROBE OUT writes a verified native folder; a second run needs --force", async () => {
    const saved = join(root, "saved-probe");
    const probe = new Probe({
      model: models.gpt_neox.path,
      layers: [2],
      pooling: "last_token",
      randomState: 0,
      runtime,
      cacheDir,
    });
    await probe.fit(CATS, DOGS);
    await probe.save(saved);
    const out = join(root, "cli-native");
    const env = { LMPROBE_CACHE_DIR: cacheDir };
    const first = await execa("node", [cliPath, "export", saved, out], { reject: false, env });
    expect(first.stderr).not.toMatch(/Error/);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^exported .*cli-native: .* blocks 0\.\.2 \(layers 2\), ONNX .* opset \d+/);
    const manifest = await verifyNativeFolder(out);
    expect(manifest.onnx.outputs).toEqual([{ name: "hidden_2", layer: 2 }]);
    const again = await execa("node", [cliPath, "export", saved, out], { reject: false, env });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/--force/);
    const help = await execa("node", [cliPath, "export", "--help"], { reject: false });
    expect(help.stdout).toMatch(/^Usage: lmprobe export PROBE_DIR OUT_DIR/);
  });
});
