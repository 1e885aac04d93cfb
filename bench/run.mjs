// `npm run bench`: GitHub issue "Performance". One run, same machine, same prompts, per configuration:
//   (a) lmprobe==0.10.3 in Python, cold cache          bench/lmprobe_run.py
//   (b) our SDK cold, fresh Node process + worker       bench/sdk_run.mjs
//   (c) our SDK warm, same probe/runtime again           bench/sdk_run.mjs
//   (d) bare transformers loop, full and truncated       bench/bare_loop.py
// Prints tables and writes bench/results/<ISO time>.json. See bench/README.md for how to read it.
// Flags: --sizes 200,1000[,5000]   --configs middle/mean,16 (filter)   --skip lmprobe,sdk,bare
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem, platform } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "200,1000" },
    configs: { type: "string", default: "" },
    skip: { type: "string", default: "" },
    "batch-size": { type: "string", default: "8" },
  },
});
const here = fileURLToPath(new URL(".", import.meta.url));
const home = process.env.LMPROBE_HOME ?? join(process.env.HOME ?? "", ".cache", "lmprobe-ts");
const python = process.env.LMPROBE_PYTHON ?? join(home, "venv", "bin", "python");
const modelDir = join(home, "models", "smollm2-135m");
const batchSize = Number(flags["batch-size"]);
const skip = new Set(flags.skip.split(",").filter(Boolean));
const sizes = flags.sizes.split(",").filter(Boolean).map(Number);

for (const [what, path, hint] of [
  ["SDK build", join(here, "..", "dist", "index.js"), "npm run build"],
  ["managed venv", python, "npx lmprobe setup --test (or npm test once)"],
  ["embedded model", join(modelDir, "config.json"), "npm run demo (converts it once)"],
]) {
  if (!existsSync(path)) throw new Error(`bench: ${what} not found at ${path}; run \`${hint}\` first`);
}
const numLayers = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")).num_hidden_layers;
// lmprobe's "middle" = range(n//3, n - n//3); a truncated forward must run through its last block.
const highestLayer = (layers) => (layers === "middle" ? numLayers - Math.floor(numLayers / 3) - 1 : layers);

const CONFIGS = [
  { layers: "middle", pooling: "last_token" },
  { layers: 16, pooling: "last_token" },
  { layers: "middle", pooling: "mean" },
  { layers: 16, pooling: "mean" },
].filter((c) => {
  if (!flags.configs) return true;
  // "middle/mean" matches exactly; a bare "mean" or "16" matches either field.
  return flags.configs.split(",").some((f) => f === `${c.layers}/${c.pooling}` || f === String(c.layers) || f === c.pooling);
});
if (CONFIGS.length === 0) throw new Error(`bench: --configs ${flags.configs} matches no configuration`);

/** Deterministic prompts: seeded PRNG (mulberry32), sentences of 5-40 words. Same seed, same text. */
function makePrompts(n, seed) {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const W = ("the a one every some river city market teacher doctor child old new small bright quiet " +
    "red green cold warm ancient modern runs walks builds finds sees remembers carries paints measures " +
    "slowly often never always quickly under over near behind across through because although while " +
    "bridge mountain library garden window machine letter planet story winter morning seven forty " +
    "hundreds thousand strange famous electric wooden silver").split(" ");
  const pick = () => W[Math.floor(rand() * W.length)];
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 5 + Math.floor(rand() * 36) }, pick); // 5..40 words
    const text = words.join(" ");
    return text[0].toUpperCase() + text.slice(1) + (rand() < 0.2 ? "?" : ".");
  });
}

/** Share of all cores busy over `ms` while the bench itself is idle: > ~0.1 means someone else is computing. */
async function otherCpuBusy(ms = 1000) {
  const read = () => { try { return readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number); } catch { return null; } };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (!a || !b) return null; // not Linux
  const d = b.map((x, i) => x - a[i]);
  const total = d.reduce((x, y) => x + y, 0);
  return total > 0 ? 1 - (d[3] + d[4]) / total : null; // idle + iowait
}

/** Runs a child to completion; resolves with its last stdout line parsed as JSON, plus spawn->exit wall. */
async function runChild(cmd, args, env = {}) {
  // Other processes on the machine skew every number here; record how busy it was just before.
  const otherBusy_before = await otherCpuBusy();
  if (otherBusy_before > 0.1) log(`  warning: ${(100 * otherBusy_before).toFixed(0)}% CPU busy before this leg (another process?)`);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HF_HUB_OFFLINE: "1", ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err = (err + d).slice(-4000))); // keep a tail for failures
    child.on("close", (code, signal) => {
      const wall_s = (performance.now() - t0) / 1000;
      try {
        if (code !== 0) throw new Error(`exit ${code ?? signal}`);
        resolve({ ...JSON.parse(out.trim().split("\n").pop()), wall_s, otherBusy_before });
      } catch (e) {
        console.error(`  ! ${cmd} ${args[0]} failed (${e.message}); stderr tail:\n${err}`);
        resolve({ error: e.message, stderrTail: err, wall_s, otherBusy_before });
      }
    });
  });
}

const log = (msg) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const tRun = performance.now();
const load1AtStart = loadavg()[0];
const work = mkdtempSync(join(tmpdir(), "lmprobe-bench-"));
const rows = [];
const bare = {};

for (const n of sizes) {
  const all = makePrompts(n + Math.round(n * 0.2), 1000 + n); // 20% extra = held-out test set
  const job = { train: all.slice(0, n), labels: all.slice(0, n).map((_, i) => i % 2), test: all.slice(n) };
  const jobPath = join(work, `job-${n}.json`);
  writeFileSync(jobPath, JSON.stringify(job));
  const stops = [...new Set(CONFIGS.map((c) => highestLayer(c.layers)))];

  // (d) once per size: the full loop does not depend on the config, the truncated one only on the layer.
  log(`${n} prompts: bare loop${skip.has("bare") ? " (count only)" : ` (full + stopped at ${stops.join(", ")})`}`);
  const bareArgs = [join(here, "bare_loop.py"), jobPath, modelDir, String(batchSize), ...stops.map(String)];
  bare[n] = await runChild(python, skip.has("bare") ? [...bareArgs, "--count-only"] : bareArgs);
  const tokens = bare[n].tokens;

  for (const c of CONFIGS) {
    const name = `${c.layers}/${c.pooling}`;
    const row = { n, nTest: job.test.length, layers: c.layers, pooling: c.pooling, stopLayer: highestLayer(c.layers), tokens };
    if (!skip.has("lmprobe")) {
      log(`${n} prompts, ${name}: lmprobe`);
      row.lmprobe = await runChild(python, [join(here, "lmprobe_run.py"), jobPath, modelDir, String(c.layers), c.pooling, String(batchSize)]);
    }
    if (!skip.has("sdk")) {
      log(`${n} prompts, ${name}: SDK cold + warm`);
      const cacheDir = mkdtempSync(join(tmpdir(), "lmprobe-bench-ts-cache-"));
      row.sdk = await runChild("node", [join(here, "sdk_run.mjs"), jobPath, String(c.layers), c.pooling, String(batchSize)], { LMPROBE_CACHE_DIR: cacheDir });
      rmSync(cacheDir, { recursive: true, force: true });
    }
    row.derived = derive(row, bare[n]);
    rows.push(row);
  }
}
rmSync(work, { recursive: true, force: true });

function derive(row, b) {
  const ok = (x) => x && !x.error;
  const d = {};
  const lm = ok(row.lmprobe) ? row.lmprobe : undefined;
  const sdk = ok(row.sdk) ? row.sdk : undefined;
  const stopped = ok(b) ? b.stopped_s?.[String(row.stopLayer)] : undefined;
  const tps = (s) => (row.tokens && s ? row.tokens / s : undefined);
  if (lm) Object.assign(d, { lmFitPredict_s: lm.fit_s + lm.predict_s, lmTokPerS: tps(lm.fit_s + lm.predict_s) });
  if (sdk) {
    d.sdkColdFitPredict_s = sdk.cold.fit_s + sdk.cold.predict_s;
    d.sdkColdWithStart_s = d.sdkColdFitPredict_s + sdk.workerStart_s;
    d.sdkWarmFitPredict_s = sdk.warm.fit_s + sdk.warm.predict_s;
    d.sdkTokPerS = tps(d.sdkColdFitPredict_s);
    // The SDK's own accounting of time inside forward calls (worker-reported), for cross-checking the estimate.
    d.sdkReportedForward_s = (sdk.cold.fitProfile?.extraction?.forwardSeconds ?? NaN) + (sdk.cold.predictProfile?.extraction?.forwardSeconds ?? NaN);
  }
  if (ok(b) && b.full_s) Object.assign(d, { bareFull_s: b.full_s, bareFullTokPerS: tps(b.full_s) });
  if (stopped) Object.assign(d, { bareStopped_s: stopped, bareStoppedTokPerS: tps(stopped) });
  if (lm && sdk) {
    d.b_over_a = d.sdkColdFitPredict_s / d.lmFitPredict_s; // fit+predict vs fit+predict (both incl. model load)
    d.b_over_a_withStart = d.sdkColdWithStart_s / lm.total_s; // + worker start vs + Python imports
  }
  if (sdk && d.bareFull_s) d.b_over_d_full = d.sdkColdFitPredict_s / d.bareFull_s;
  if (sdk && stopped) {
    d.b_over_d_stopped = d.sdkColdFitPredict_s / stopped;
    // ESTIMATE: everything in (b) that is not a forward pass through blocks 0..L: model load,
    // tokenization differences, IPC, pooling, cache writes, the sklearn fit, scheduling.
    d.outsideForwardEstimate_s = d.sdkColdFitPredict_s - stopped;
  }
  return d;
}

// ---- report ----
const f = (x, digits = 1) => (x === undefined || x === null || Number.isNaN(x) ? "-" : x.toFixed(digits));
function table(title, headers, body) {
  const w = headers.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i < 3 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ")} |`;
  console.log(`\n${title}\n${line(headers)}\n|${w.map((x, i) => (i < 3 ? "-".repeat(x + 2) : `${"-".repeat(x + 1)}:`)).join("|")}|`);
  for (const r of body) console.log(line(r));
}
const key = (r) => [String(r.n), String(r.layers), r.pooling];
table(
  "Wall time, seconds (fit+predict = fit on n prompts + predict on 0.2n held-out prompts; both include model load)",
  ["n", "layers", "pooling", "a lmprobe", "a proc", "b SDK cold", "b+start", "c SDK warm", "d full", "d stop@L", "b/a", "b/d full", "b/d stop", "outside fwd (est.)"],
  rows.map((r) => {
    const d = r.derived;
    const share = d.outsideForwardEstimate_s !== undefined ? ` (${f((100 * d.outsideForwardEstimate_s) / d.sdkColdFitPredict_s, 0)}%)` : "";
    return [...key(r), f(d.lmFitPredict_s), f(r.lmprobe?.wall_s), f(d.sdkColdFitPredict_s), f(d.sdkColdWithStart_s), f(d.sdkWarmFitPredict_s, 2),
      f(d.bareFull_s), d.bareStopped_s ? `${f(d.bareStopped_s)} @${r.stopLayer}` : "-", f(d.b_over_a, 2), f(d.b_over_d_full, 2), f(d.b_over_d_stopped, 2),
      d.outsideForwardEstimate_s !== undefined ? f(d.outsideForwardEstimate_s) + share : "-"];
  }),
);
table(
  "Throughput (real tokens / fit+predict wall) and memory",
  ["n", "layers", "pooling", "tokens", "a tok/s", "b tok/s", "d full tok/s", "d stop tok/s", "worker start s", "a lmprobe MB", "b node MB", "b worker MB", "other CPU %"],
  rows.map((r) => {
    const d = r.derived;
    return [...key(r), String(r.tokens ?? "-"), f(d.lmTokPerS, 0), f(d.sdkTokPerS, 0), f(d.bareFullTokPerS, 0), f(d.bareStoppedTokPerS, 0),
      f(r.sdk?.workerStart_s, 2), f(r.lmprobe?.peak_rss_mb, 0), f(r.sdk?.nodePeakMb, 0), f(r.sdk?.workerPeakMb, 0),
      // Worst "someone else was busy" sample taken just before this row's legs (see otherCpuBusy).
      f(100 * Math.max(...[r.lmprobe, r.sdk, bare[r.n]].map((x) => x?.otherBusy_before ?? 0)), 0)];
  }),
);

let versions = {};
try {
  versions = JSON.parse(execFileSync(python, ["-c", "import json, sys, torch; from importlib.metadata import version as v\n" +
    "print(json.dumps({'python': sys.version.split()[0], 'torch': torch.__version__, 'torch_threads': torch.get_num_threads(), " +
    "**{p: v(p) for p in ('transformers', 'scikit-learn', 'lmprobe')}}))"], { encoding: "utf8" }));
} catch (e) {
  versions = { error: String(e.message).slice(0, 200) };
}
const totalRun_s = (performance.now() - tRun) / 1000;
const machine = { cpuModel: cpus()[0]?.model, cpuCount: cpus().length, totalMemGb: +(totalmem() / 1024 ** 3).toFixed(1), os: `${platform()} ${release()}`, node: process.version, load1AtStart, ...versions };
mkdirSync(join(here, "results"), { recursive: true });
const file = join(here, "results", `${new Date().toISOString().replace(/:/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ issue: "Performance", flags, machine, model: `${modelDir} (SmolLM2-135M-Instruct Q4_1, dequantized, ${numLayers} layers)`, batchSize, totalRun_s, bare, rows }, null, 2));
console.log(`\nmachine: ${machine.cpuModel} x${machine.cpuCount}, ${machine.totalMemGb} GB, ${machine.os}, node ${machine.node}, python ${machine.python}, torch ${machine.torch} (${machine.torch_threads} threads)`);
console.log(`total bench time: ${f(totalRun_s)} s; results: ${file}`);
