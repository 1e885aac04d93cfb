// Remote workers (issue 13, item 2): throughput of activations over loopback TCP + CURVE against
// the local ipc child worker, in one run. A served worker (`lmprobe worker serve`, port 0, fresh
// keys) and a child worker each extract the same N prompts × all layers, every real token
// (pooling "none", the most bytes per prompt; no cache: the raw `extract` RPC), reps alternating
// local/remote so the shared machine's load falls on both alike. Reports activation MB/s end to
// end (bytes / wall time of the call) and over the wire alone (bytes / (wall − the worker's own
// seconds)), and the remote/local ratios; writes bench/results/remote-throughput-<time>.json.
// Run: npm run build && node bench/remote-throughput.mjs [--model embedded:smollm2-135m|PATH] [--prompts 64] [--reps 5]
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    model: { type: "string", default: "embedded:smollm2-135m" },
    prompts: { type: "string", default: "64" },
    reps: { type: "string", default: "5" },
    batch: { type: "string", default: "16" },
  },
});
const root = join(new URL(".", import.meta.url).pathname, "..");
const { PythonRuntime } = await import(join(root, "dist", "index.js"));

const keys = join(mkdtempSync(join(tmpdir(), "lmprobe-bench-keys-")), "keys");
const cli = execFile(process.execPath, [
  join(root, "dist", "cli", "main.js"),
  "worker",
  "serve",
  "--bind",
  "tcp://127.0.0.1:0",
  "--keys",
  keys,
]);
const served = await new Promise((resolve, reject) => {
  let text = "";
  cli.stdout.on("data", (chunk) => {
    text += chunk;
    const head = /serving on (tcp:\/\/\S+) \(pid (\d+)\)/.exec(text);
    const key = /server public key: (\S{40})/.exec(text);
    if (head && key) resolve({ endpoint: head[1], pid: Number(head[2]), serverPublicKey: key[1] });
  });
  cli.on("exit", () => reject(new Error(`lmprobe worker serve exited:\n${text}`)));
});
const stop = () => {
  for (const pid of [served.pid, cli.pid])
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
};

const words = ["cat", "dog", "river", "market", "seven", "blue", "quietly", "runs", "under", "old", "bridge"];
const prompts = Array.from({ length: Number(flags.prompts) }, (_, i) => {
  const sentence = Array.from({ length: 6 + (i % 17) }, (_, k) => words[(i * 7 + k * 3) % words.length]);
  return `Sentence ${i}: ${sentence.join(" ")}.`;
});

try {
  const local = new PythonRuntime();
  const remote = new PythonRuntime({ connect: { endpoint: served.endpoint, serverPublicKey: served.serverPublicKey } });
  // The served worker resolves the model on its disk; here that is this machine's, so both load the same folder.
  const resolved = await remote.call("model_resolve", { model: flags.model });
  const numLayers = Number(resolved.config.num_hidden_layers ?? resolved.config.n_layer);
  const body = (list) => ({
    model: resolved.path,
    prompts: list,
    layers: Array.from({ length: numLayers }, (_, i) => i),
    pooling: "none",
    batch_size: Number(flags.batch),
    group_by_length: true,
    dtype: "float32",
    device: "cpu",
  });
  const runtimes = { local, remote };
  for (const [mode, rt] of Object.entries(runtimes)) {
    await rt.call("extract", body(prompts.slice(0, 2))); // load the model
    console.error(`${mode} worker ready`);
  }
  const reps = { local: [], remote: [] };
  for (let r = 0; r < Number(flags.reps); r++) {
    for (const mode of r % 2 ? ["remote", "local"] : ["local", "remote"]) {
      const t0 = performance.now();
      const reply = await runtimes[mode].call("extract", body(prompts));
      const wall = (performance.now() - t0) / 1000;
      const bytes = reply.activations.data.byteLength;
      const worker = Number(reply.seconds.total);
      reps[mode].push({ bytes, wallSeconds: wall, workerSeconds: worker, tokens: Number(reply.tokens) });
      console.error(
        `rep ${r} ${mode}: ${(bytes / 1e6).toFixed(1)} MB in ${wall.toFixed(2)} s (worker ${worker.toFixed(2)} s)`,
      );
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (list) => ({
    mbPerSecond: median(list.map((x) => x.bytes / 1e6 / x.wallSeconds)),
    wireMbPerSecond: median(list.map((x) => x.bytes / 1e6 / Math.max(x.wallSeconds - x.workerSeconds, 1e-6))),
    wallSeconds: median(list.map((x) => x.wallSeconds)),
    wireSeconds: median(list.map((x) => x.wallSeconds - x.workerSeconds)),
  });
  const results = {
    model: flags.model,
    prompts: prompts.length,
    layers: numLayers,
    megabytesPerCall: reps.local[0].bytes / 1e6,
    tokens: reps.local[0].tokens,
    local: summary(reps.local),
    remote: summary(reps.remote),
    reps,
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  };
  results.remoteOverLocal = {
    mbPerSecond: results.remote.mbPerSecond / results.local.mbPerSecond,
    wireMbPerSecond: results.remote.wireMbPerSecond / results.local.wireMbPerSecond,
  };
  console.log(JSON.stringify({ ...results, reps: undefined }, null, 2));
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(root, "bench", "results", `remote-throughput-${stamp}.json`), JSON.stringify(results, null, 2));
  await Promise.all([local.close(), remote.close()]);
} finally {
  stop();
}
