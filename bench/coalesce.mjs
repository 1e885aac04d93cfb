// Coalescing benchmark (issue 13, item 4): 64 concurrent one-prompt predictProba calls on one probe
// against one predictProba call with the same 64 prompts, on the embedded SmolLM2-135M, with
// coalescing off (coalesceMs: 0, as before) and on (the default window), in one run. No cache, so
// every call runs the model. Run: npm run build && node bench/coalesce.mjs [reps]
import { cpus } from "node:os";
import { Probe, PythonRuntime } from "../dist/index.js";

const REPS = Number(process.argv[2] ?? 3);
const MODEL = "embedded:smollm2-135m";
const words = ["cat", "dog", "river", "market", "seven", "blue", "quietly", "runs", "under", "the", "old", "bridge"];
const sentence = (i) => {
  const body = Array.from({ length: 4 + (i % 13) }, (_, k) => words[(i * 7 + k * 3) % words.length]);
  return `Sentence ${i}: ${body.join(" ")}.`;
};
const train = Array.from({ length: 40 }, (_, i) => sentence(i));
const labels = train.map((_, i) => i % 2);
const prompts = Array.from({ length: 64 }, (_, i) => sentence(1000 + i));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};

// Both runtimes stay up and the modes alternate rep by rep, so that a shared machine's load
// (which swings a lot) falls on both alike; medians are reported, and every rep too.
async function setup(coalesceMs) {
  const runtime = new PythonRuntime({ coalesceMs });
  const probe = new Probe({ model: MODEL, layers: 16, randomState: 0, cacheDir: null, runtime });
  await probe.fit(train, labels); // loads the model: the timings below are extraction and scoring only
  return { coalesceMs: runtime.coalesceMs, runtime, probe, one: [], many: [] };
}

const modes = [await setup(0), await setup(new PythonRuntime().coalesceMs)];
for (let r = 0; r < REPS; r++) {
  for (const m of modes) {
    m.one.push(await time(() => m.probe.predictProba(prompts)));
    m.many.push(await time(() => Promise.all(prompts.map((p) => m.probe.predictProba([p])))));
  }
}
await Promise.all(modes.map((m) => m.runtime.close()));
const report = ({ coalesceMs, one, many }) => ({
  coalesceMs,
  oneCallS: median(one),
  concurrentS: median(many),
  ratio: median(many) / median(one),
  perRep: { oneCallS: one, concurrentS: many },
});
const [off, on] = modes.map(report);
console.log(
  JSON.stringify({ model: MODEL, prompts: prompts.length, reps: REPS, cpus: cpus().length, off, on }, null, 2),
);
