// `npm run bench:ndif`: throughput of remote extraction on the real NDIF server (PyPI ndif 0.1.2
// on loopback, CPU only: test/ndif-real/harness) against the same extraction run locally through
// nnsight on the same machine. Both fill an empty activation cache for N short prompts (Probe.warmup)
// with the tiny llama of the tests; the server here is local, so what differs is NDIF's queue,
// job and transfer overhead. Reports jobs submitted (counted by a loopback proxy) and wall times,
// and writes bench/results/ndif-throughput-<time>.json.
// Flags: --prompts 1000  --batch 8  --layers 1,3  --pooling mean  --host URL (a running NDIF; else one is started).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    prompts: { type: "string", default: "1000" },
    batch: { type: "string", default: "8" },
    layers: { type: "string", default: "1,3" },
    pooling: { type: "string", default: "mean" },
    host: { type: "string" },
  },
});
const root = join(new URL(".", import.meta.url).pathname, "..");
const n = Number(flags.prompts);
const batchSize = Number(flags.batch);
const layers = flags.layers.split(",").map(Number);
const { Probe, PythonRuntime, ensurePythonEnv } = await import(join(root, "dist", "index.js"));

// The harness is TypeScript (the tests run it through vitest): compile a copy next to node_modules.
const built = join(root, "node_modules", ".cache", "lmprobe-ndif-harness");
execFileSync(
  process.execPath,
  [
    join(root, "node_modules", "typescript", "bin", "tsc"),
    "--outDir",
    built,
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--skipLibCheck",
    "--types",
    "node",
    join(root, "test", "ndif-real", "harness", "ndif-server.ts"),
    join(root, "test", "ndif-real", "harness", "counting-proxy.ts"),
  ],
  { stdio: "inherit" },
);
process.env.LMPROBE_NDIF_SERVER_FILES = join(root, "test", "ndif-real", "server");
const { startNdifServer } = await import(join(built, "ndif-server.js"));
const { startCountingProxy } = await import(join(built, "counting-proxy.js"));

/** Deterministic short sentences of 4-12 words. */
function prompts(count) {
  let a = 7;
  const rand = () => (a = (a * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const words = "the a cat dog sat ran on in park mat big small red ball fish true false is was".split(" ");
  return Array.from(
    { length: count },
    (_, i) =>
      `${i} ${Array.from({ length: 4 + Math.floor(rand() * 9) }, () => words[Math.floor(rand() * words.length)]).join(
        " ",
      )}.`,
  );
}

const { python } = await ensurePythonEnv({ test: true });
const modelsDir = join(tmpdir(), "lmprobe-ts-tiny-models-v1");
mkdirSync(modelsDir, { recursive: true });
const tiny = JSON.parse(
  execFileSync(python, [join(root, "test", "fixtures", "make_tiny_models.py"), modelsDir])
    .toString()
    .trim()
    .split("\n")
    .pop(),
);
const model = tiny.llama.path;

const t0 = performance.now();
const server = flags.host ? null : await startNdifServer({ log: (m) => console.error(`[ndif] ${m}`) });
const started = (performance.now() - t0) / 1000;
const proxy = await startCountingProxy(flags.host ?? server.host);
const runtime = new PythonRuntime({ env: { NDIF_API_KEY: "bench-any-key" } });
const list = prompts(n);
const row = {
  prompts: n,
  batchSize,
  layers,
  pooling: flags.pooling,
  cpus: cpus().length,
  serverStartS: server ? started : null,
  serverInstallS: server ? server.installMs / 1000 : null,
};
try {
  const probe = (remote) =>
    new Probe({
      model,
      layers,
      pooling: flags.pooling,
      batchSize,
      runtime,
      backend: "nnsight",
      ...(remote ? { remote: { host: proxy.host, pollIntervalMs: 100 } } : {}),
      cacheDir: mkdtempSync(join(tmpdir(), "ndif-bench-cache-")),
    });
  // untimed: the worker's model load, and NDIF's deployment of the model (its first job)
  let t = performance.now();
  await probe(true).warmup(["warm up"]);
  row.firstRemoteJobS = (performance.now() - t) / 1000;
  await probe(false).warmup(["warm up"]);

  const before = proxy.submitted();
  t = performance.now();
  await probe(true).warmup(list);
  row.remote = { wallS: (performance.now() - t) / 1000, jobs: proxy.submitted() - before };
  t = performance.now();
  await probe(false).warmup(list);
  row.localNnsight = { wallS: (performance.now() - t) / 1000 };
  row.remoteOverLocal = row.remote.wallS / row.localNnsight.wallS;
  row.promptsPerJob = n / row.remote.jobs;
} finally {
  await runtime.close();
  await proxy.close();
  if (server) await server.stop();
}
console.log(`\n${n} prompts, batch ${batchSize}, layers ${layers}, ${flags.pooling} (tiny llama, ${row.cpus} CPUs)`);
console.log(
  `  remote (real NDIF, loopback): ${row.remote.wallS.toFixed(1)} s, ${row.remote.jobs} jobs` +
    ` (${row.promptsPerJob.toFixed(1)} prompts/job)`,
);
console.log(`  local through nnsight:        ${row.localNnsight.wallS.toFixed(1)} s`);
console.log(
  `  remote / local:               ${row.remoteOverLocal.toFixed(2)}x  ` +
    ` (first remote job incl. deploy: ${row.firstRemoteJobS.toFixed(1)} s)`,
);
const out = join(root, "bench", "results", `ndif-throughput-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(out, JSON.stringify(row, null, 2));
console.log(`  -> ${out}`);
