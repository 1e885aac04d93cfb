// `npm run bench`: lmprobe (Python) vs our SDK (cold and warm cache) vs a bare torch forward loop,
// on the embedded SmolLM2-135M, same prompts, same machine, one run. Prints a table and writes
// bench/results/perf-<time>.json. Flags: --sizes 200,1000[,5000]  --configs middle/last_token,...
// --skip lmprobe,bare   --memory (5,000 prompts, layers "all": Node's peak memory).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "200,1000" },
    configs: { type: "string" },
    skip: { type: "string", default: "" },
    memory: { type: "boolean", default: false },
  },
});
const here = new URL(".", import.meta.url).pathname;
const home = process.env.LMPROBE_HOME ?? join(process.env.HOME ?? "", ".cache", "lmprobe-ts");
const python = process.env.LMPROBE_PYTHON ?? join(home, "venv", "bin", "python");
const model = join(home, "models", "smollm2-135m");
const skip = new Set(flags.skip.split(",").filter(Boolean));
const CONFIGS = [
  { layers: "middle", pooling: "last_token", stop: 19 },
  { layers: 16, pooling: "last_token", stop: 16 },
  { layers: "middle", pooling: "mean", stop: 19 },
  { layers: 16, pooling: "mean", stop: 16 },
].filter((c) => !flags.configs || flags.configs.split(",").includes(`${c.layers}/${c.pooling}`));

/** Deterministic sentences of 5-40 words. */
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

function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // Progress bars off: they would drown the table (and cost a little time in lmprobe).
    const env = {
      ...process.env,
      TQDM_DISABLE: "1",
      HF_HUB_DISABLE_PROGRESS_BARS: "1",
      TRANSFORMERS_VERBOSITY: "error",
    };
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"], env });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`));
      resolve({ ...JSON.parse(out.trim().split("\n").pop()), wall: (performance.now() - t0) / 1000 });
    });
    child.stdin.end(JSON.stringify(input));
  });
}

// The venv needs lmprobe itself (the test extras), and the embedded model must be converted,
// before anything is timed.
execFileSync("node", [join(here, "..", "dist", "cli", "main.js"), "setup", "--test"], {
  stdio: "inherit",
  env: {
    ...process.env,
    LMPROBE_PIP_CONSTRAINT:
      process.env.LMPROBE_PIP_CONSTRAINT ?? join(here, "..", "python_worker", "constraints-cpu.txt"),
  },
});
execFileSync(
  "node",
  [
    "--input-type=module",
    "-e",
    `import { Probe } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)}; ` +
      'const p = new Probe({ model: "embedded:smollm2-135m", layers: 0, cacheDir: null }); ' +
      'await p.warmup(["x"]); await p.close();',
  ],
  { stdio: "inherit" },
);

const rows = [];
const sizes = flags.sizes.split(",").map(Number);
const runs = sizes.flatMap((n) => CONFIGS.map((c) => ({ n, ...c })));
if (flags.memory) runs.push({ n: 5000, layers: "all", pooling: "last_token", stop: 29, memoryOnly: true });
for (const r of runs) {
  const all = prompts(Math.round(r.n * 1.2), r.n);
  const train = all.slice(0, r.n);
  const test = all.slice(r.n);
  // A property the model can see (does the sentence mention a cat?), as in real probing; arbitrary
  // labels would only make the classifier's solver iterate longer.
  const labels = train.map((p) => (/\bcat\b/i.test(p) ? 1 : 0));
  const label = `${r.n} prompts, layers=${r.layers}, ${r.pooling}`;
  console.error(`\n== ${label}`);
  const row = { n: r.n, layers: r.layers, pooling: r.pooling };
  if (!skip.has("lmprobe") && !r.memoryOnly) {
    row.lmprobe = await run(python, [join(here, "lmprobe_fit.py")], {
      model,
      layers: r.layers,
      pooling: r.pooling,
      batch_size: 8,
      train_prompts: train,
      train_labels: labels,
      test_prompts: test,
    });
  }
  row.ours = await run("node", [join(here, "ours_fit.mjs")], {
    model: "embedded:smollm2-135m",
    layers: r.layers,
    pooling: r.pooling,
    batchSize: 8,
    trainPrompts: train,
    trainLabels: labels,
    testPrompts: test,
    cacheDir: mkdtempSync(join(tmpdir(), "perf-cache-")),
  });
  if (!skip.has("bare") && !r.memoryOnly)
    row.bare = await run(python, [join(here, "bare_forward.py")], {
      model,
      prompts: all,
      batch_size: 8,
      stop_layer: r.stop,
    });
  const o = row.ours;
  const fitNoLoad = o.fit.totalSeconds - o.fit.extraction.modelLoadSeconds;
  const extractSeconds = fitNoLoad - o.fit.fitSeconds + o.predict.totalSeconds;
  const tokens = o.fit.extraction.tokens + o.predict.extraction.tokens;
  row.derived = {
    oursTokensPerSec: tokens / extractSeconds,
    outsideForwardSeconds:
      fitNoLoad + o.predict.totalSeconds - o.fit.extraction.forwardSeconds - o.predict.extraction.forwardSeconds,
  };
  row.derived.outsideForwardShareOfColdFit = row.derived.outsideForwardSeconds / o.fit.totalSeconds;
  row.derived.warmOverCold = o.warm / (o.cold - o.workerStart);
  if (row.lmprobe) row.derived.oursOverLmprobe = o.wall / row.lmprobe.wall;
  if (row.bare) {
    row.derived.bareStoppedTokensPerSec = row.bare.tokens / row.bare.stopped_s;
    row.derived.bareFullTokensPerSec = row.bare.tokens / row.bare.full_s;
    row.derived.throughputVsBareStopped = row.derived.oursTokensPerSec / row.derived.bareStoppedTokensPerSec;
  }
  rows.push(row);
  console.error(JSON.stringify(row.derived));
}

const f = (x, d = 2) => (x === undefined ? "–" : x.toFixed(d));
console.log(
  "\n| prompts | layers | pooling | lmprobe s | ours cold s | ours/lmprobe | warm/cold | ours tok/s | " +
    "bare stopped tok/s | ours/bare | outside fwd | worker start s | node MB | worker MB |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const d = r.derived;
  console.log(
    `| ${r.n} | ${r.layers} | ${r.pooling} | ${f(r.lmprobe?.wall, 1)} | ${f(r.ours.wall, 1)} | ` +
      `${f(d.oursOverLmprobe)} | ${f(100 * d.warmOverCold, 1)}% | ${f(d.oursTokensPerSec, 0)} | ` +
      `${f(d.bareStoppedTokensPerSec, 0)} | ${f(d.throughputVsBareStopped)} | ` +
      `${f(100 * d.outsideForwardShareOfColdFit, 1)}% | ${f(r.ours.workerStart, 1)} | ` +
      `${f(r.ours.nodePeakMb, 0)} | ${f(r.ours.workerPeakMb, 0)} |`,
  );
}
const machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memGb: +(totalmem() / 1024 ** 3).toFixed(1),
  os: release(),
  node: process.version,
  python: execFileSync(python, ["-c", "import sys, torch; print(sys.version.split()[0], torch.__version__)"])
    .toString()
    .trim(),
};
mkdirSync(join(here, "results"), { recursive: true });
const file = join(here, "results", `perf-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ machine, model: "SmolLM2-135M-Instruct (Q4_1, dequantized)", rows }, null, 2));
console.log(`\nresults: ${file}`);
