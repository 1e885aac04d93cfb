/**
 * A real NDIF server (PyPI `ndif` 0.1.2, the service NDIF deploys) on loopback, CPU only, for
 * the real-NDIF test tier: redis-server (Debian's), moto's S3 server (stands in for the RustFS
 * object store NDIF uses upstream), a Ray head reporting one *logical* GPU with NDIF's controller
 * actor, and NDIF's API under gunicorn. Every port is free-chosen on 127.0.0.1; every process is
 * stopped by pid (see processes.ts). Postgres (API keys) and Loki/Influx (telemetry) stay off:
 * NDIF disables them when their URLs are empty, and then accepts any API key.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { freePorts } from "./ports.js";
import { cleanStaleRuns, Run, runProcesses, runsDir } from "./processes.js";
import { ensureServerVenv, SERVER_FILES } from "./server-venv.js";

/** A started server. */
export interface NdifServer {
  /** The API's base URL, e.g. http://127.0.0.1:23456. */
  host: string;
  /** Folder of the services' logs. */
  logs: string;
  /** Milliseconds spent installing the venv (0 when reused), and starting the services. */
  installMs: number;
  startMs: number;
  /** Stops every process of the server (SIGTERM, then SIGKILL); resolves to how many there were. */
  stop(): Promise<number>;
  /** SIGKILL to every process of the server, synchronously (for process exit handlers). */
  killNow(): void;
  /** How many processes of the server are alive. */
  alive(): number;
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** redis-server from Debian's package; installed with apt-get when missing and we are root (CI is). */
async function ensureRedis(log: (m: string) => void): Promise<string> {
  const found = await execa("sh", ["-c", "command -v redis-server"], { reject: false });
  if (found.exitCode === 0) return found.stdout.trim();
  if (process.getuid?.() !== 0) {
    throw new Error(
      "the real-NDIF test tier needs redis-server: install Debian's package (sudo apt-get install -y redis-server)",
    );
  }
  log("installing redis-server with apt-get");
  // Debian's policy-rc.d keeps the package from starting its own system daemon in containers;
  // the harness starts its own redis on a free port either way.
  await execa("apt-get", ["update", "-qq"]);
  await execa("apt-get", ["install", "-y", "-qq", "redis-server"], { env: { DEBIAN_FRONTEND: "noninteractive" } });
  return (await execa("sh", ["-c", "command -v redis-server"])).stdout.trim();
}

/** GET url until it answers 200, or `check()` throws, or the deadline passes. */
async function waitFor(url: string, deadlineMs: number, check: () => void): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    check();
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await sleep(500);
  }
  throw new Error(`${url} did not answer within ${Math.round(deadlineMs / 1000)} s`);
}

/** Installs (once) and starts the server; throws an error naming the failing step and its log. */
export async function startNdifServer(
  opts: { readyTimeoutMs?: number; log?: (m: string) => void } = {},
): Promise<NdifServer> {
  const say = opts.log ?? (() => {});
  const readyTimeoutMs = opts.readyTimeoutMs ?? 300_000;
  const cleaned = await cleanStaleRuns();
  if (cleaned) say(`cleaned ${cleaned} stale NDIF run(s) left by a crashed test run`);
  // the logs of finished runs are kept until the next run starts (for a failed test to be looked into)
  for (const name of readdirSync(tmpdir())) {
    const old = /^lmprobe-ndif-([0-9a-f]{12})$/.exec(name)?.[1];
    if (old && !existsSync(join(runsDir(), `${old}.json`)))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const token = randomBytes(6).toString("hex");
  // short: Ray puts unix sockets under its temp dir (108-byte path limit)
  const base = join(tmpdir(), `lmprobe-ndif-${token}`);
  const logs = join(base, "logs");
  mkdirSync(logs, { recursive: true });
  const { venv, ms: installMs } = await ensureServerVenv(join(logs, "install.log"));
  const redis = await ensureRedis(say);
  const t1 = Date.now();
  const run = new Run(token);
  run.scratch(join(base, "ray"));
  const bin = join(venv, "bin");
  const { ports, blockStart } = await freePorts(13, 100);
  const [
    redisPort,
    s3Port,
    gcsPort,
    clientPort,
    dashPort,
    agentPort,
    agentGrpc,
    metrics,
    nodeMgr,
    objMgr,
    envAgent,
    apiPort,
  ] = ports as [number, ...number[]];
  const env: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: process.env.HOME ?? tmpdir(),
    LANG: "C.UTF-8",
    NDIF_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    NDIF_OBJECT_STORE_URL: `http://127.0.0.1:${s3Port}`,
    NDIF_RAY_ADDRESS: `ray://127.0.0.1:${clientPort}`,
    NDIF_API_PORT: String(apiPort),
    // NDIF's own extension point for the model actor class: ours runs on CPU (lmprobe_cpu_actor.py)
    NDIF_MODEL_IMPORT_PATH: "lmprobe_cpu_actor.CPUModelActor",
    NDIF_DEFAULT_DTYPE: "float32",
    NDIF_DEFAULT_PADDING_BIAS: "0",
    // the two adapters (sitecustomize.py is imported by every server Python at start-up)
    PYTHONPATH: SERVER_FILES,
    GRPC_ENABLE_FORK_SUPPORT: "0",
    RAY_USAGE_STATS_ENABLED: "0",
    // single-node mode: Ray resolves "localhost" to 127.0.0.1, not to the host's routable address
    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER: "0",
    HF_HUB_OFFLINE: "1",
    HF_HUB_DISABLE_TELEMETRY: "1",
    TOKENIZERS_PARALLELISM: "false",
    OMP_NUM_THREADS: "1",
  };
  const fail = (step: string, log: string, err?: unknown): never => {
    throw new Error(
      `the real NDIF server did not start (${step}${err ? `: ${(err as Error).message}` : ""}); ` +
        `log ${log}:\n${tail(log)}`,
    );
  };
  try {
    const redisChild = run.spawn(
      redis,
      ["--bind", "127.0.0.1", "--port", String(redisPort), "--save", "", "--appendonly", "no"],
      env,
      join(logs, "redis.log"),
    );
    const motoChild = run.spawn(
      join(bin, "moto_server"),
      ["-H", "127.0.0.1", "-p", String(s3Port)],
      env,
      join(logs, "moto.log"),
    );
    say(`redis :${redisPort}, moto :${s3Port} spawned`);
    // NDIF's controller only places models on nodes that report a GPU: one logical GPU, and the
    // memory budget it places models into. Logical CPUs: each model actor takes one, and the tier
    // deploys seven models (a fresh one for each timing-sensitive test). Only loopback addresses,
    // only the chosen ports.
    const resources = JSON.stringify({ head: 10, cuda_memory_bytes: 4 * 2 ** 30, cpu_memory_bytes: 8 * 2 ** 30 });
    const rayStart = run.spawn(
      join(bin, "ray"),
      [
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        `--port=${gcsPort}`,
        `--ray-client-server-port=${clientPort}`,
        "--num-cpus=16",
        "--num-gpus=1",
        `--resources=${resources}`,
        `--object-store-memory=${512 * 1024 * 1024}`,
        // the dashboard must run: without it NDIF's dispatcher stays at "Connecting to Ray" and /connected answers 503
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        `--dashboard-port=${dashPort}`,
        `--dashboard-agent-listen-port=${agentPort}`,
        `--dashboard-agent-grpc-port=${agentGrpc}`,
        `--metrics-export-port=${metrics}`,
        `--node-manager-port=${nodeMgr}`,
        `--object-manager-port=${objMgr}`,
        `--runtime-env-agent-port=${envAgent}`,
        `--min-worker-port=${blockStart}`,
        `--max-worker-port=${blockStart + 99}`,
        `--temp-dir=${join(base, "ray")}`,
        "--disable-usage-stats",
      ],
      env,
      join(logs, "ray-start.log"),
    );
    const rayCode = await new Promise<number | null>((resolve) => rayStart.once("exit", resolve));
    if (rayCode !== 0) fail(`ray start exited ${rayCode}`, join(logs, "ray-start.log"));
    say(`ray head :${gcsPort} up`);
    if (redisChild.exitCode !== null) fail("redis-server exited", join(logs, "redis.log"));
    if (motoChild.exitCode !== null) fail("moto_server exited", join(logs, "moto.log"));
    const controller = run.spawn(
      join(bin, "python"),
      ["-m", "ndif.services.ray.deployments.controller.controller"],
      { ...env, RAY_ADDRESS: `127.0.0.1:${gcsPort}` },
      join(logs, "controller.log"),
    );
    const ctlCode = await new Promise<number | null>((resolve) => controller.once("exit", resolve));
    if (ctlCode !== 0) fail(`NDIF's controller launcher exited ${ctlCode}`, join(logs, "controller.log"));
    say("NDIF controller actor launched");
    const api = run.spawn(
      join(bin, "gunicorn"),
      [
        "--config",
        "python:ndif.services.api.gunicorn_conf",
        "--bind",
        `127.0.0.1:${apiPort}`,
        "ndif.services.api.app:app",
      ],
      env,
      join(logs, "api.log"),
    );
    const host = `http://127.0.0.1:${apiPort}`;
    // /connected answers 200 once the API's dispatcher has attached to Ray
    await waitFor(`${host}/connected`, readyTimeoutMs, () => {
      if (api.exitCode !== null) fail(`NDIF's API (gunicorn) exited ${api.exitCode}`, join(logs, "api.log"));
    }).catch((err: unknown) => fail("waiting for /connected", join(logs, "api.log"), err));
    const startMs = Date.now() - t1;
    say(
      `NDIF API ${host} connected (${(startMs / 1000).toFixed(1)} s to start` +
        `${installMs ? `, ${(installMs / 1000).toFixed(0)} s to install` : ""})`,
    );
    return {
      host,
      logs,
      installMs,
      startMs,
      stop: () => run.stop(),
      killNow: () => run.killNow(),
      alive: () => runProcesses(run.record).length,
    };
  } catch (err) {
    await run.stop();
    throw err;
  }
}
