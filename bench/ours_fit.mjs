// Benchmark legs (b) and (c): our SDK in its own Node process (so its peak memory is its own):
// worker start, cold fit + predict, then the same again from the cache. One JSON job on stdin.
import { readFileSync } from "node:fs";
import { Probe, PythonRuntime } from "../dist/index.js";

const job = JSON.parse(readFileSync(0, "utf8"));
const t0 = performance.now();
const runtime = new PythonRuntime();
const info = await runtime.ready();
const workerStart = (performance.now() - t0) / 1000;
const probe = new Probe({
  model: job.model,
  layers: job.layers,
  pooling: job.pooling,
  randomState: 0,
  batchSize: job.batchSize,
  cacheDir: job.cacheDir,
  groupByLength: job.groupByLength,
  runtime,
});
await probe.fit(job.trainPrompts, job.trainLabels);
const fit = probe.lastProfile;
await probe.predict(job.testPrompts);
const predict = probe.lastProfile;
const cold = (performance.now() - t0) / 1000;
const t1 = performance.now();
await probe.fit(job.trainPrompts, job.trainLabels);
await probe.predict(job.testPrompts);
const warm = (performance.now() - t1) / 1000;
const status = readFileSync(`/proc/${info.pid}/status`, "utf8");
const workerPeakMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
await probe.close();
await runtime.close();
console.log(
  JSON.stringify({
    workerStart,
    cold,
    warm,
    fit,
    predict,
    workerPeakMb,
    nodePeakMb: process.resourceUsage().maxRSS / 1024,
  }),
);
