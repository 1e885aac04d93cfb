/**
 * `lmprobe worker serve --bind tcp://HOST:PORT [--keys DIR] [--allow FILE] [--ray ADDRESS
 * [--ray-workers N] [--ray-threads N]]`: a worker in the foreground on TCP with CURVE, for clients on other machines
 * (`PythonRuntime({ connect })`), optionally sharding its extractions over a Ray cluster.
 * The Python worker generates or reads the server key pair and runs the ZAP authenticator
 * (python_worker/lmprobe_worker/curve.py); this command starts it, prints the public key and how
 * to connect, and forwards SIGINT/SIGTERM. It never prints the secret key.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { loadExeca } from "../internal/lazy-execa.js";
import { ensurePythonEnv } from "../env/python-env.js";
import { ensureRay } from "../env/ray-env.js";
import { embeddedModelsDir, lmprobeHome } from "../env/paths.js";
import { InvalidOptionError } from "../errors.js";
import { workerArgs } from "../worker/worker-process.js";
import { REMOTE_ENV } from "../worker/remote-options.js";
import { describeRay, withRayEnv } from "../worker/ray-settings.js";
import { serveAnnouncementFromWire, type ServeAnnouncement } from "../protocol/worker-status.js";
import type { ProgressEvent } from "../types.js";
import { parseCommand } from "./args.js";
import { RAY_FLAG_OPTIONS, rayEnvOfFlags } from "./ray-flags.js";

/** `tcp://*:PORT`, `tcp://HOST:PORT` or `tcp://[IPv6]:PORT`; port 0 lets the system pick a free one. */
const BIND = /^tcp:\/\/(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

/** The default key folder: `LMPROBE_HOME/worker-keys`. */
export function defaultKeyFolder(env: NodeJS.ProcessEnv = process.env): string {
  return join(lmprobeHome(env), "worker-keys");
}

interface ServeSettings {
  bind: string;
  keys: string;
  allow: string | undefined;
  rayEnv: Record<string, string> | undefined;
}

function parseServe(args: string[]): ServeSettings {
  const { values } = parseCommand({
    args,
    options: {
      bind: { type: "string" },
      keys: { type: "string" },
      allow: { type: "string" },
      ...RAY_FLAG_OPTIONS,
    },
  });
  const bind = values.bind;
  if (bind === undefined) throw new InvalidOptionError("--bind", "--bind tcp://HOST:PORT is required.");
  const port = Number(BIND.exec(bind)?.[2] ?? Number.NaN);
  if (!(port >= 0 && port <= 65535))
    throw new InvalidOptionError(
      "--bind",
      `--bind must be tcp://HOST:PORT (HOST: an address of this machine, 127.0.0.1, or * for all; PORT 0-65535), ` +
        `got ${JSON.stringify(bind)}.`,
    );
  const allow = values.allow === undefined ? undefined : resolve(values.allow);
  if (allow !== undefined && !(existsSync(allow) && statSync(allow).isFile()))
    throw new InvalidOptionError("--allow", `--allow ${values.allow}: no such file (one client public key per line).`);
  // Without --ray, LMPROBE_RAY_* of this shell, checked the same way (the worker gets only checked ones).
  const rayEnv = rayEnvOfFlags(values);
  return { bind, keys: resolve(values.keys ?? defaultKeyFolder()), allow, rayEnv };
}

function describe(a: ServeAnnouncement): string[] {
  const ray = a.ray;
  const connectTo = a.endpoint.replace(/^tcp:\/\/(0\.0\.0\.0|\*|\[::\])/, "tcp://HOST");
  const clients =
    a.allowList === null ? "any client that has the server public key" : `${a.allowList} allowed client key(s)`;
  return [
    `lmprobe worker serving on ${a.endpoint} (pid ${a.pid}), CURVE on, clients: ${clients}`,
    `server public key: ${a.serverPublicKey}`,
    `  (${a.keysCreated ? "new key pair" : "key pair"} in ${a.keyFolder}; the secret key stays there)`,
    "connect with:",
    `  ${REMOTE_ENV.endpoint}=${connectTo} ${REMOTE_ENV.serverPublicKey}='${a.serverPublicKey}'`,
    `  new PythonRuntime({ connect: { endpoint: "${connectTo}", serverPublicKey: "${a.serverPublicKey}" } })`,
    "Models load from this machine's disk. Stop with Ctrl-C (SIGINT) or SIGTERM.",
    ...(ray
      ? [
          `Extractions are sharded over the Ray cluster ${describeRay(ray)} (the actors start on the first ` +
            "extraction; the activations equal a local worker's).",
        ]
      : []),
  ];
}

/** Runs `lmprobe worker serve` until SIGINT/SIGTERM; resolves with the exit code. */
export async function workerServe(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const settings = parseServe(args);
  const onProgress = (e: ProgressEvent) => {
    if (e.type === "setup" && e.message) err(`[setup] ${e.message}`);
  };
  const pyEnv = await ensurePythonEnv({ onProgress });
  if (settings.rayEnv) await ensureRay(pyEnv, onProgress); // the managed venv installs the extra
  const python = pyEnv.python;
  const serveArgs = ["--serve", settings.bind, "--keys", settings.keys, "--embedded-dir", embeddedModelsDir()];
  if (settings.allow) serveArgs.push("--allow", settings.allow);
  const execa = await loadExeca();
  const child = execa(python, [...workerArgs(), ...serveArgs], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
    reject: false,
    buffer: false,
    env: withRayEnv(process.env, settings.rayEnv),
    extendEnv: false,
  });
  const stop = () => child.kill("SIGTERM");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  let announced = false;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const a = announced ? undefined : serveAnnouncementFromWire(line);
    if (a) {
      announced = true;
      for (const text of describe(a)) out(text);
    } else err(`[worker] ${line}`);
  });
  const result = await child;
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  if (!announced) return result.exitCode ?? 1; // the worker said why on stderr (keys, bind)
  err("lmprobe worker: stopped");
  return 0;
}
