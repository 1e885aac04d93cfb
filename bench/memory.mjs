// Node's peak memory with many prompts and every layer (issue "Performance": 5,000 prompts,
// layers "all", pooled). Warms the cache (cold extraction), then warms again (every entry read back
// and checked), and reports process.resourceUsage().maxRSS. warmup assembles no (n, 30, 576)
// array (it only fills the cache), so the peak is independent of n. Run: node bench/memory.mjs [n]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probe } from "../dist/index.js";

const n = Number(process.argv[2] ?? 5000);
const words = "the a cat dog river market seven blue quietly runs under old bridge never sings".split(" ");
const prompts = Array.from(
  { length: n },
  (_, i) =>
    `Item ${i}: ${Array.from({ length: 5 + (i % 30) }, (_, k) => words[(i * 7 + k * 5) % words.length]).join(" ")}.`,
);
const probe = new Probe({
  model: "embedded:smollm2-135m",
  layers: "all",
  batchSize: 8,
  cacheDir: mkdtempSync(join(tmpdir(), "lmprobe-mem-")),
});
const t0 = performance.now();
await probe.warmup(prompts);
const cold = (performance.now() - t0) / 1000;
const t1 = performance.now();
const again = await probe.warmup(prompts);
const read = (performance.now() - t1) / 1000;
await probe.close();
const result = {
  prompts: n,
  layers: 30,
  coldWarmupSeconds: cold,
  cachedReadSeconds: read,
  cached: again.cached,
  nodePeakMb: process.resourceUsage().maxRSS / 1024,
};
console.log(JSON.stringify(result));
