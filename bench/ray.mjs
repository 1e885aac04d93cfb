// Ray fan-out benchmark (issue 17): on the embedded SmolLM2-135M (CPU, float32), N prompts in
// batches of 16 through (a) a local worker (also with 1 torch thread, as Ray gives a CPU actor),
// (b) the Ray path with 1 actor (its overhead), (c) 2 actors (throughput on this 2-core machine),
// (d) 2 actors where one dies mid-shard (the test hook
// LMPROBE_RAY_TEST_DIE_SHARD): time to see the death and to have the shard's rows from another actor.
// Each runtime is warmed (model loaded) before the timed call. The local Ray head is started here
// and stopped by its pid. Run: npm run build && node bench/ray.mjs [N]
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { PythonRuntime, ensurePythonEnv } from "../dist/index.js";
import { ensureRay } from "../dist/env/ray-env.js";
import { resolveModel } from "../dist/models/resolve-model.js";

const N = Number(process.argv[2] ?? 256);
const words = ["cat", "dog", "river", "market", "seven", "blue", "quietly", "runs", "under", "the", "old", "bridge"];
const prompts = Array.from({ length: N }, (_, i) =>
  Array.from({ length: 6 + (i % 11) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" "),
);

const env = await ensurePythonEnv();
await ensureRay(env);
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const free = s.address().port;
    s.close(() => resolve(free));
  });
});
const temp = mkdtempSync(join(tmpdir(), "lmprobe-ray-bench-"));
const head = execa(
  join(dirname(env.python), "ray"),
  [
    "start",
    "--head",
    "--block",
    "--num-cpus=2",
    "--num-gpus=0",
    `--port=${port}`,
    "--node-ip-address=127.0.0.1",
    "--include-dashboard=false",
    "--disable-usage-stats",
    `--temp-dir=${temp}`,
  ],
  { all: true, reject: false, detached: true, stdin: "ignore" },
);
await new Promise((resolve) => {
  let out = "";
  head.all.on("data", (c) => {
    out += c;
    if (out.includes("Ray runtime started")) resolve();
  });
});
const address = `127.0.0.1:${port}`;

const runtimes = [];
async function timed(label, options) {
  const runtime = new PythonRuntime({ daemon: "off", ...options });
  runtimes.push(runtime);
  const model = (await resolveModel("embedded:smollm2-135m", { runtime })).path;
  const body = { model, prompts, layers: [6, 12], pooling: "mean", batch_size: 16, dtype: "float32", device: "cpu" };
  await runtime.call("extract", { ...body, prompts: prompts.slice(0, 32) }); // warm: the model (or actors) loaded
  const t0 = performance.now();
  const reply = await runtime.call("extract", body);
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${s.toFixed(2)} s, ${(N / s).toFixed(1)} prompts/s`, reply.ray ?? "");
  await runtime.close();
  return { s, reply };
}

try {
  console.log(`N=${N} prompts, batch 16, SmolLM2-135M float32 CPU, ${cpus().length} cores (shared)`);
  const local = await timed("local worker", {});
  // Ray gives each CPU actor OMP_NUM_THREADS=1: the same for a local worker, to tell threads from Ray.
  const local1 = await timed("local worker, 1 torch thread", { env: { OMP_NUM_THREADS: "1" } });
  const one = await timed("ray, 1 actor", { ray: { address, workers: 1 } });
  const two = await timed("ray, 2 actors", { ray: { address, workers: 2 } });
  const dies = await timed("ray, 2 actors, one dies mid-shard", {
    ray: { address, workers: 2 },
    env: { LMPROBE_RAY_TEST_DIE_SHARD: "1" },
  });
  console.log(
    JSON.stringify({
      overhead1ActorVsLocal1ThreadS: +(one.s - local1.s).toFixed(2),
      overhead1ActorVsLocalS: +(one.s - local.s).toFixed(2),
      speedup2Actors: +(local.s / two.s).toFixed(2),
      deathDetectS: dies.reply.ray.detect_s,
      rescheduleS: dies.reply.ray.reschedule_s,
      deathCostS: +(dies.s - two.s).toFixed(2),
    }),
  );
} finally {
  await Promise.allSettled(runtimes.map((r) => r.close()));
  process.kill(head.pid, "SIGTERM");
  await Promise.race([head, new Promise((r) => setTimeout(r, 15_000))]);
  try {
    process.kill(-head.pid, "SIGKILL");
  } catch {
    // the group is already gone
  }
  rmSync(temp, { recursive: true, force: true });
}
