// Cached fit with a running daemon (issue 13 item 1): a fully cached fit of N prompts (default
// 300, layer 12, embedded SmolLM2-135M) in a fresh Node process attached to `lmprobe worker start`,
// as a ratio of the cold fit without a daemon, measured in one run. Each measurement is its own
// fresh Node process; the daemon lives in a private LMPROBE_DAEMON_DIR and is stopped at the end.
// Run: npm run build && node bench/daemon-start.mjs [N] [REPS]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [, , first, second] = process.argv;

/** CPU seconds (user + system) a process has used so far (Linux /proc; null elsewhere). */
function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return null;
  }
}

if (first === "--child") {
  // One measured run in a fresh process: everything it pays is what a re-run script pays.
  const [mode, cacheDir, n] = second.split(",");
  const tImport = performance.now();
  const { Probe, PythonRuntime } = await import("lmprobe-ts"); // the package entry (dist/bundle/)
  const imported = performance.now();
  const words = ["cat", "dog", "river", "market", "seven", "blue", "quietly", "runs", "under", "old", "bridge"];
  const prompts = Array.from({ length: Number(n) }, (_, i) => {
    const sentence = Array.from({ length: 4 + (i % 17) }, (_, k) => words[(i * 7 + k * 3) % words.length]);
    return `Sentence ${i}: ${sentence.join(" ")}.`;
  });
  const labels = prompts.map((_, i) => i % 2);
  const t0 = performance.now();
  const runtime = new PythonRuntime();
  const info = await runtime.ready();
  const ready = performance.now();
  const workerCpuAtReady = cpuSecondsOf(info.pid);
  const probe = new Probe({ model: "embedded:smollm2-135m", layers: 12, randomState: 0, cacheDir, runtime });
  await probe.fit(prompts, labels);
  const fitDone = performance.now();
  const workerCpuAtFit = cpuSecondsOf(info.pid);
  const nodeCpu = process.cpuUsage();
  const timings = probe.lastProfile ?? null;
  await runtime.close();
  const closed = performance.now();
  console.log(
    JSON.stringify({
      mode,
      workerPid: info.pid,
      processSeconds: closed / 1000, // from Node's start to the end of close()
      phases: {
        nodeStartToImport: tImport / 1000,
        importSdk: (imported - tImport) / 1000,
        ready: (ready - t0) / 1000,
        fit: (fitDone - ready) / 1000,
        close: (closed - fitDone) / 1000,
      },
      // CPU seconds, less sensitive than wall times to other load on the machine.
      cpu: {
        node: (nodeCpu.user + nodeCpu.system) / 1e6,
        workerDuringFit: workerCpuAtFit - workerCpuAtReady,
        workerUpToFitEnd: workerCpuAtFit,
      },
      timings,
    }),
  );
  process.exit(0);
}

const n = Number(first ?? 300);
const reps = Number(second ?? 3);
const self = fileURLToPath(import.meta.url);
const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const cacheDir = mkdtempSync(join(tmpdir(), "lmprobe-daemon-bench-"));
const daemonDir = mkdtempSync(join(tmpdir(), "lmprobe-daemon-bench-dir-"));
const env = (daemon) => ({ ...process.env, LMPROBE_DAEMON: daemon, LMPROBE_DAEMON_DIR: daemonDir });
const child = (mode, daemon) =>
  JSON.parse(execFileSync(process.execPath, [self, "--child", `${mode},${cacheDir},${n}`], { env: env(daemon) }));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cold = child("cold-no-daemon", "off");
const cachedNoDaemon = child("cached-no-daemon", "off");
const started = performance.now();
execFileSync(process.execPath, [cli, "worker", "start", "--idle-timeout", "10m"], {
  env: env("auto"),
  stdio: ["ignore", 2, 2],
});
const daemonStartSeconds = (performance.now() - started) / 1000;
let withDaemon;
try {
  const firstAttach = child("cached-daemon-first-client", "auto"); // the daemon imports the fit's modules once
  const steady = Array.from({ length: reps }, (_, i) => child(`cached-daemon-client-${i + 2}`, "auto"));
  withDaemon = { firstAttach, steady };
} finally {
  execFileSync(process.execPath, [cli, "worker", "stop"], { env: env("auto"), stdio: ["ignore", 2, 2] });
}
const steadySeconds = median(withDaemon.steady.map((r) => r.processSeconds));
const results = {
  prompts: n,
  cold,
  cachedNoDaemon,
  daemonStartSeconds,
  withDaemon,
  ratios: {
    cachedNoDaemonOverCold: cachedNoDaemon.processSeconds / cold.processSeconds,
    firstDaemonClientOverCold: withDaemon.firstAttach.processSeconds / cold.processSeconds,
    steadyDaemonClientOverCold: steadySeconds / cold.processSeconds, // the bar: <= 0.03
  },
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
};
console.log(JSON.stringify(results, null, 2));
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(new URL(`./results/daemon-start-${stamp}.json`, import.meta.url), JSON.stringify(results, null, 2));
