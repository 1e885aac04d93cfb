// Benchmark legs (b) cold and (c) warm: our SDK in a Node process of its own, so that "fresh
// process state" really is fresh and maxRSS is this configuration's alone.
// Usage: node sdk_run.mjs JOB.json LAYERS POOLING BATCH_SIZE   (JOB.json: {train, labels, test})
// The parent sets LMPROBE_CACHE_DIR to a fresh temp dir, so the cold run starts with an empty
// activation cache. Prints one JSON line (seconds, MB).
import { readFileSync } from "node:fs";
import { Probe, PythonRuntime } from "../dist/index.js";

const [jobPath, layersArg, pooling, bs] = process.argv.slice(2);
const layers = /^-?\d+$/.test(layersArg) ? Number(layersArg) : layersArg;
const job = JSON.parse(readFileSync(jobPath, "utf8"));
const since = (t) => (performance.now() - t) / 1000;

// Worker start, spawn -> hello, on a fresh runtime (includes the venv fingerprint check).
const t0 = performance.now();
const runtime = new PythonRuntime();
const info = await runtime.ready();
const workerStart = since(t0);

const probe = new Probe({ model: "embedded:smollm2-135m", layers, pooling, randomState: 0, batchSize: Number(bs), runtime });

// Progress events give a Node-side view of where fit time went (first/last time of each phase).
const events = {};
const onProgress = (e) => {
  const key = e.phase ? `${e.type}:${e.phase}` : e.type;
  const t = since(tFit);
  events[key] ??= { first: t, last: t, count: 0 };
  events[key].last = t;
  events[key].count++;
};

async function fitPredict(withEvents) {
  const t = performance.now();
  await probe.fit(job.train, job.labels, withEvents ? { onProgress } : {});
  const fit = since(t);
  const fitProfile = probe.lastProfile;
  const t2 = performance.now();
  const pred = await probe.predict(job.test);
  return { fit_s: fit, predict_s: since(t2), fitProfile, predictProfile: probe.lastProfile, nPred: pred.length };
}

const tFit = performance.now();
const cold = await fitPredict(true);
const warm = await fitPredict(false);

// VmHWM = the worker's peak resident set, read while it is still alive.
let workerPeakMb = null;
try {
  const status = readFileSync(`/proc/${info.pid}/status`, "utf8");
  workerPeakMb = Number(/VmHWM:\s+(\d+)\s*kB/.exec(status)?.[1]) / 1024;
} catch {
  /* not Linux, or the worker is gone: report null */
}
await probe.close();
await runtime.close();
console.log(JSON.stringify({
  workerStart_s: workerStart,
  workerPid: info.pid,
  cold,
  warm,
  coldEvents: events,
  workerPeakMb,
  nodePeakMb: process.resourceUsage().maxRSS / 1024, // maxRSS is in kB
}));
