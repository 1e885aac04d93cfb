// Fit-only worker start (issue 13, item 3): a fully cached fit in a fresh Node process should pay
// only for Python's start and scikit-learn, never for importing torch or transformers. Runs a cold
// fit and then a fully cached fit, each in its own fresh Node process, on the embedded
// SmolLM2-135M (300 prompts, layer 12). Run: npm run build && node bench/fit-only-start.mjs [N]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [, , first, second] = process.argv;

if (first === "--child") {
  // One measured run: this process is fresh, so everything it pays is what a re-run script pays.
  const [mode, cacheDir, n] = second.split(",");
  const { Probe, PythonRuntime } = await import("../dist/index.js");
  const words = ["cat", "dog", "river", "market", "seven", "blue", "quietly", "runs", "under", "old", "bridge"];
  const prompts = Array.from({ length: Number(n) }, (_, i) => {
    const sentence = Array.from({ length: 4 + (i % 17) }, (_, k) => words[(i * 7 + k * 3) % words.length]);
    return `Sentence ${i}: ${sentence.join(" ")}.`;
  });
  const labels = prompts.map((_, i) => i % 2);
  const t0 = performance.now();
  const runtime = new PythonRuntime();
  await runtime.ready();
  const hello = (performance.now() - t0) / 1000;
  const probe = new Probe({ model: "embedded:smollm2-135m", layers: 12, randomState: 0, cacheDir, runtime });
  await probe.fit(prompts, labels);
  const fit = (performance.now() - t0) / 1000; // from spawn: the hello above is included
  const diag = await runtime.request("loaded_models", {});
  await runtime.close();
  const out = { mode, helloSeconds: hello, fitSeconds: fit, processSeconds: performance.now() / 1000 };
  console.log(JSON.stringify({ ...out, models: diag.models, imported: diag.imported ?? "(not reported)" }));
  process.exit(0);
}

const n = Number(first ?? 300);
const cacheDir = mkdtempSync(join(tmpdir(), "lmprobe-fit-only-"));
const self = fileURLToPath(import.meta.url);
const child = (mode) => JSON.parse(execFileSync(process.execPath, [self, "--child", `${mode},${cacheDir},${n}`]));
const cold = child("cold");
const cached = child("cached");
const results = {
  prompts: n,
  cold,
  cached,
  cachedOverCold: cached.processSeconds / cold.processSeconds,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
};
console.log(JSON.stringify(results, null, 2));
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(new URL(`./results/fit-only-start-${stamp}.json`, import.meta.url), JSON.stringify(results, null, 2));
