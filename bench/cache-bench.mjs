// Activation-cache benchmark (issue "Activation cache"): on the embedded SmolLM2-135M with 500
// prompts, how long a fully cached fit and a half-cached warmup take against cold ones, and how
// fast 10,000 pooled vectors are read back. Run: npm run build && node bench/cache-bench.mjs
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { ActivationCache, Probe, PythonRuntime } from "../dist/index.js";
import { promptHash } from "../dist/cache/model-identity.js";

const N = Number(process.argv[2] ?? 500);
const MODEL = "embedded:smollm2-135m";
const fresh = () => mkdtempSync(join(tmpdir(), "lmprobe-cache-bench-"));
const words = [
  "cat",
  "dog",
  "river",
  "market",
  "seven",
  "blue",
  "quietly",
  "runs",
  "under",
  "the",
  "old",
  "bridge",
  "never",
  "sings",
];
const prompts = Array.from({ length: N }, (_, i) => {
  const sentence = Array.from({ length: 4 + (i % 17) }, (_, k) => words[(i * 7 + k * 3) % words.length]);
  return `Sentence ${i}: ${sentence.join(" ")}.`;
});
const labels = prompts.map((_, i) => i % 2);
const time = async (fn) => {
  const t0 = performance.now();
  const value = await fn();
  return [(performance.now() - t0) / 1000, value];
};
const probe = (cacheDir, runtime) =>
  new Probe({ model: MODEL, layers: 16, randomState: 0, batchSize: 8, cacheDir, runtime });

const runtime = new PythonRuntime();
await runtime.ready();
// Load the model once so cold numbers measure extraction, not the one-off model load.
await probe(null, runtime).warmup(["warm the model up"]);

const dirA = fresh();
const [coldFit] = await time(() => probe(dirA, runtime).fit(prompts, labels));
const second = new PythonRuntime();
await second.ready();
const [warmFit] = await time(() => probe(dirA, second).fit(prompts, labels));
const loaded = (await second.request("loaded_models", {})).models;
await second.close();

const [coldWarmup] = await time(() => probe(fresh(), runtime).warmup(prompts));
const dirB = fresh();
await probe(dirB, runtime).warmup(prompts.filter((_, i) => i % 2 === 0));
const [halfWarmup, half] = await time(() => probe(dirB, runtime).warmup(prompts));
await runtime.close();

// Reads: 10,000 pooled 576-float vectors straight from the index + blobs.
const cache = new ActivationCache(fresh());
const hashes = Array.from({ length: 10_000 }, (_, i) => promptHash(`read bench ${i}`));
cache.putMany(
  "bench",
  hashes.map((h) => ({
    promptHash: h,
    layer: 0,
    kind: "last_token",
    rows: 1,
    dim: 576,
    data: new Float32Array(576).fill(0.5),
  })),
  "float32",
);
const [readSecs, got] = await time(async () => cache.getMany("bench", hashes, 0, "last_token", "float32"));
cache.close();

const results = {
  prompts: N,
  model: MODEL,
  coldFitSeconds: coldFit,
  cachedFitSeconds: warmFit,
  cachedFitRatio: warmFit / coldFit,
  cachedFitLoadedModels: loaded,
  coldWarmupSeconds: coldWarmup,
  halfCachedWarmupSeconds: halfWarmup,
  halfCachedPrompts: half.cached,
  halfCachedWarmupRatio: halfWarmup / coldWarmup,
  read10kPooledSeconds: readSecs,
  read10kCount: got.size,
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGb: +(totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
  },
};
const row = (label, value, target) => console.log(`${label.padEnd(44)} ${value.padStart(12)}   ${target}`);
console.log(`\nactivation cache benchmark: ${MODEL}, ${N} prompts, layer 16, last_token`);
row("cold fit", `${coldFit.toFixed(2)} s`, "");
row(
  "fully cached fit (fresh worker)",
  `${warmFit.toFixed(3)} s`,
  `${(100 * results.cachedFitRatio).toFixed(2)}% of cold (target ≤ 2%), models loaded: ${loaded.length}`,
);
row("cold warmup", `${coldWarmup.toFixed(2)} s`, "");
row(
  `warmup with ${half.cached} of ${N} cached`,
  `${halfWarmup.toFixed(2)} s`,
  `${(100 * results.halfCachedWarmupRatio).toFixed(1)}% of cold (target ≤ 60%)`,
);
row("read 10,000 pooled vectors (576 floats)", `${readSecs.toFixed(3)} s`, "target < 1 s");
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const out = new URL(`./results/cache-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, import.meta.url);
writeFileSync(out, JSON.stringify(results, null, 2));
console.log(`\nwritten ${out.pathname}`);
