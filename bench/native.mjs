// Issue 14's numbers: NativeProbe (lmprobe-ts/native: onnxruntime + tokenizers.js, no Python) vs the
// Python-worker path, same probe, same machine, one run. SmolLM2-135M (embedded), layer 16,
// last_token, CPU. Measures: export time and ONNX size; single-prompt latency p50/p99; throughput
// (prompts/s) at batch 1 (one prompt per call, calls in sequence) and batch 32; the RSS of a Node
// process that serves the native probe alone (a child process: load, then the same calls).
// The modes alternate rep by rep, so a shared machine's load falls on both alike. The worker's
// activation cache is off (LMPROBE_CACHE_MAX_GB=0) and every prompt is new: no call is a cache hit.
// Usage: npm run build && node bench/native.mjs [--reps 100] [--batches 4] [--dir EXPORTED]
// Writes bench/results/native-<time>.json.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

process.env.LMPROBE_CACHE_MAX_GB = "0"; // the Python path extracts every time, like the native one
const { Probe, PythonRuntime } = await import("../dist/index.js");
const { NativeProbe } = await import("../dist/native/index.js");

const { values: flags } = parseArgs({
  options: {
    reps: { type: "string", default: "100" },
    batches: { type: "string", default: "4" },
    dir: { type: "string" },
  },
});
const REPS = Number(flags.reps);
const BATCHES = Number(flags.batches);
const here = new URL(".", import.meta.url).pathname;

/** Deterministic sentences of 5-40 words (as perf.mjs); label: mentions a cat. */
function prompts(n, seed) {
  let a = seed >>> 0;
  const rand = () => (a = (a * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const words = (
    "the a cat dog river market seven blue quietly runs under old bridge never sings green forty people walked " +
    "home after long rain because"
  ).split(" ");
  return Array.from({ length: n }, () => {
    const len = 5 + Math.floor(rand() * 36);
    const s = Array.from({ length: len }, () => words[Math.floor(rand() * words.length)]).join(" ");
    return `${s[0].toUpperCase()}${s.slice(1)}.`;
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

const runtime = new PythonRuntime();
const train = prompts(80, 1);
const probe = new Probe({
  model: "embedded:smollm2-135m",
  layers: [16],
  pooling: "last_token",
  randomState: 0,
  runtime,
});
await probe.fit(
  train,
  train.map((p) => (p.includes("cat") ? 1 : 0)),
);
let exportInfo = null;
let dir = flags.dir;
if (!dir) {
  const t0 = performance.now();
  const r = await probe.exportNative(join(mkdtempSync(join(tmpdir(), "lmprobe-native-bench-")), "smollm2-l16"));
  exportInfo = {
    seconds: (performance.now() - t0) / 1000,
    workerSeconds: r.seconds.worker,
    onnxMiB: r.onnxBytes / 2 ** 20,
  };
  dir = r.path;
  console.log(`export: ${exportInfo.seconds.toFixed(1)} s, ONNX ${exportInfo.onnxMiB.toFixed(0)} MiB -> ${dir}`);
}
const loadMs = await time(async () => (globalThis.native = await NativeProbe.load(dir)));
const native = globalThis.native;
console.log(`NativeProbe.load: ${loadMs.toFixed(0)} ms (hash check + session)`);

const modes = {
  native: (ps, batchSize) => native.predictProba(ps, { batchSize }),
  python: (ps, batchSize) => probe.predictProba(ps, { batchSize }),
};
// Warm-up: model load in the worker, onnxruntime's first runs.
for (const f of Object.values(modes)) for (const p of prompts(3, 7)) await f([p], 1);

const singles = prompts(REPS * 2, 11);
const latency = { native: [], python: [] };
for (let i = 0; i < REPS; i++)
  for (const [name, f] of i % 2 ? Object.entries(modes).reverse() : Object.entries(modes))
    latency[name].push(await time(() => f([singles[name === "native" ? 2 * i : 2 * i + 1]], 1)));

const batch32 = { native: [], python: [] };
const big = prompts(BATCHES * 64, 13);
for (let b = 0; b < BATCHES; b++)
  for (const [k, [name, f]] of Object.entries(modes).entries()) {
    const ps = big.slice((2 * b + k) * 32, (2 * b + k + 1) * 32);
    batch32[name].push(await time(() => f(ps, 32)));
  }

// A Node process serving the native probe alone: its peak RSS over load + the same kinds of calls.
const serve = join(here, "native-serve.mjs");
const served = JSON.parse(execFileSync(process.execPath, [serve, dir], { encoding: "utf8" }));

const summary = {};
for (const name of Object.keys(modes)) {
  const lat = latency[name];
  summary[name] = {
    p50Ms: pct(lat, 50),
    p99Ms: pct(lat, 99),
    batch1PromptsPerS: 1000 / (lat.reduce((a, b) => a + b, 0) / lat.length),
    batch32PromptsPerS: (32 * BATCHES) / (batch32[name].reduce((a, b) => a + b, 0) / 1000),
  };
}
console.log("\nmode    p50 ms  p99 ms  batch1 prompts/s  batch32 prompts/s");
for (const [name, s] of Object.entries(summary))
  console.log(
    `${name.padEnd(7)} ${s.p50Ms.toFixed(1).padStart(6)}  ${s.p99Ms.toFixed(1).padStart(6)}  ` +
      `${s.batch1PromptsPerS.toFixed(1).padStart(16)}  ${s.batch32PromptsPerS.toFixed(1).padStart(17)}`,
  );
console.log(`\nNode process serving the native probe alone: peak RSS ${served.peakRssMiB.toFixed(0)} MiB`);

const out = {
  when: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30, kernel: release() },
  setting: { model: "embedded:smollm2-135m", layer: 16, pooling: "last_token", reps: REPS, batches: BATCHES },
  export: exportInfo,
  loadMs,
  summary,
  served,
  raw: { latency, batch32 },
};
mkdirSync(join(here, "results"), { recursive: true });
const file = join(here, "results", `native-${out.when.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify(out, null, 2));
console.log(`-> ${file}`);
await native.close();
await probe.close();
await runtime.close();
