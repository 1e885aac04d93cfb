// Native export benchmark (issue 14, numbers): probe.exportNative on the embedded SmolLM2-135M,
// layer 16 (blocks 0..16 of 30 in the graph): export wall time (the worker's share: tracing,
// exporting and writing the ONNX graph; then saving and hashing), ONNX size, verifyNativeFolder
// time, and a check that the graph gives the worker's hidden states on a padded batch.
// Run: npm run build && node bench/native-export.mjs [layer]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";
import { Probe, PythonRuntime } from "../dist/index.js";
import { verifyNativeFolder } from "../dist/native/manifest.js";

const LAYER = Number(process.argv[2] ?? 16);
const MODEL = "embedded:smollm2-135m";
const words = ["cat", "dog", "river", "market", "seven", "blue", "quietly", "runs", "under", "the", "old", "bridge"];
const sentence = (i) =>
  `Sentence ${i}: ${Array.from({ length: 4 + (i % 13) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ")}.`;
const train = Array.from({ length: 40 }, (_, i) => sentence(i));
const labels = train.map((_, i) => i % 2);
const check = [sentence(1000), "Hi", sentence(1005) + " " + sentence(1012), "Émoji 🙂 café"];

const runtime = new PythonRuntime();
const dir = join(mkdtempSync(join(tmpdir(), "native-bench-")), "native");
try {
  const probe = new Probe({ model: MODEL, layers: LAYER, randomState: 0, cacheDir: null, runtime });
  await probe.fit(train, labels); // loads the model on CPU float32: the export below reuses it
  const t0 = performance.now();
  const result = await probe.exportNative(dir);
  const exportS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const manifest = await verifyNativeFolder(dir);
  const verifyS = (performance.now() - t1) / 1000;

  // Parity on one padded batch: ONNX through onnxruntime-node vs the worker's extraction.
  const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, manifest.tokenizer.file), "utf8")), {});
  const ids = check.map((p) => tok.encode(p, { add_special_tokens: true }).ids);
  const width = Math.max(...ids.map((r) => r.length));
  const left = manifest.tokenizer.paddingSide === "left";
  const inputIds = new BigInt64Array(check.length * width).fill(BigInt(manifest.tokenizer.padTokenId));
  const mask = new BigInt64Array(check.length * width);
  ids.forEach((row, r) =>
    row.forEach((id, t) => {
      const at = r * width + (left ? width - row.length : 0) + t;
      inputIds[at] = BigInt(id);
      mask[at] = 1n;
    }),
  );
  const t2 = performance.now();
  const session = await ort.InferenceSession.create(join(dir, manifest.onnx.file));
  const sessionS = (performance.now() - t2) / 1000;
  const out = await session.run({
    input_ids: new ort.Tensor("int64", inputIds, [check.length, width]),
    attention_mask: new ort.Tensor("int64", mask, [check.length, width]),
  });
  await session.release();
  const model = (await import("../dist/models/resolve-model.js")).resolveModel;
  const { path } = await model(MODEL, { runtime });
  const ref = await runtime.call("extract", {
    model: path,
    prompts: check,
    layers: [LAYER],
    pooling: "none",
    batch_size: check.length,
  });
  const hidden = manifest.model.hiddenSize;
  const got = out[`hidden_${LAYER}`].data;
  const want = ref.activations.data;
  // SmolLM2's first position carries activations of ~2e4 (an attention sink), so float32 rounding
  // differences there are ~1e-2 in absolute terms: report the absolute and the per-token relative error.
  let k = 0;
  let worst = 0;
  let worstRel = 0;
  ids.forEach((row, r) => {
    for (let t = left ? width - row.length : 0, end = t + row.length; t < end; t++, k++) {
      let diff = 0;
      let norm = 0;
      for (let h = 0; h < hidden; h++) {
        diff = Math.max(diff, Math.abs(got[(r * width + t) * hidden + h] - want[k * hidden + h]));
        norm = Math.max(norm, Math.abs(want[k * hidden + h]));
      }
      worst = Math.max(worst, diff);
      worstRel = Math.max(worstRel, diff / norm);
    }
  });
  const report = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    model: MODEL,
    layer: LAYER,
    exporter: manifest.createdBy.exporter,
    opset: manifest.createdBy.opset,
    torch: manifest.createdBy.torch,
    exportS,
    workerS: result.seconds.worker,
    onnxMiB: result.onnxBytes / 2 ** 20,
    externalData: manifest.onnx.externalData,
    verifyS,
    ortSessionS: sessionS,
    tokensCompared: k,
    maxAbsDiffVsWorker: worst,
    maxRelDiffVsWorker: worstRel,
  };
  console.log(JSON.stringify(report, null, 2));
  mkdirSync(new URL("results/", import.meta.url), { recursive: true });
  writeFileSync(new URL("results/native-export.json", import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await runtime.close();
  rmSync(join(dir, ".."), { recursive: true, force: true });
}
