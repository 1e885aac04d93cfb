/** `lmprobe worker start|status|stop`: the long-lived worker ("daemon"); `serve`: worker-serve.ts. */
import { InvalidOptionError } from "../errors.js";
import { daemonDir } from "../worker/daemon-paths.js";
import { daemonStatus, startDaemon, stopDaemon } from "../worker/daemon-control.js";
import { describeRay } from "../worker/ray-settings.js";
import { parseCommand } from "./args.js";
import { RAY_FLAG_OPTIONS, rayEnvOfFlags } from "./ray-flags.js";
import { HELP } from "./usage.js";
import { workerServe } from "./worker-serve.js";

const UNITS_S: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };
const UNITS_B: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, kib: 2 ** 10, m: 1e6, mb: 1e6, mib: 2 ** 20 };
Object.assign(UNITS_B, { g: 1e9, gb: 1e9, gib: 2 ** 30, t: 1e12, tb: 1e12, tib: 2 ** 40 });

/** A duration option (`30m`, `90s`, `2h`, `1d`, or seconds; 0 = never) in seconds. */
export function durationOption(name: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/i.exec(value.trim());
  const unit = m ? UNITS_S[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new InvalidOptionError(
      name,
      `${name} must be a duration such as 30m, 90s, 2h or 0 (never), got ${JSON.stringify(value)}.`,
    );
  return Number(m[1]) * unit;
}

/** A size option (`8GiB`, `512MB`, `4G`, or bytes) in bytes. */
export function bytesOption(name: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? UNITS_B[m[2]!.toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : 0;
  if (bytes <= 0)
    throw new InvalidOptionError(
      name,
      `${name} must be a positive size such as 8GiB or 512MB, got ${JSON.stringify(value)}.`,
    );
  return bytes;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const since = (s: number) => {
  const t = Math.round(s);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${Math.floor(t / 3600)}h${pad(Math.floor((t % 3600) / 60))}m${pad(t % 60)}s`;
};

/** `lmprobe worker --ray ADDRESS ...` (the issue's spelling) is `lmprobe worker start --ray ADDRESS ...`. */
const isRayStart = (args: string[]) =>
  args[0]?.startsWith("-") === true && args.some((a) => a === "--ray" || a.startsWith("--ray="));

/** `lmprobe worker ACTION`; returns the exit code. */
export async function workerCommand(args: string[], out: (line: string) => void): Promise<number> {
  const [action, ...rest] = isRayStart(args) ? ["start", ...args] : args;
  if (action === "serve") return workerServe(rest, out, (line) => process.stderr.write(`${line}\n`));
  if (action !== "start" && action !== "status" && action !== "stop") {
    const problem = action === undefined ? "no action given" : `unknown action ${JSON.stringify(action)}`;
    process.stderr.write(`lmprobe worker: ${problem}\n\n${HELP.worker}\n`);
    return 2;
  }
  const { values } = parseCommand({
    args: rest,
    options: {
      "idle-timeout": { type: "string" },
      "model-memory": { type: "string" },
      ...RAY_FLAG_OPTIONS,
      json: { type: "boolean" },
    },
  });
  const startOnly = ["idle-timeout", "model-memory", "ray", "ray-workers", "ray-threads"] as const;
  const misplaced = startOnly.find((name) => values[name] !== undefined);
  if (action !== "start" && misplaced !== undefined)
    throw new InvalidOptionError(
      `--${misplaced}`,
      `--${misplaced} is an option of worker start${misplaced.startsWith("ray") ? " and worker serve" : ""}, ` +
        `not of worker ${action}.`,
    );
  const print = (human: string, json: object) => out(values.json ? JSON.stringify(json, null, 2) : human);
  switch (action) {
    case "start": {
      const idleTimeoutS = durationOption("--idle-timeout", values["idle-timeout"] ?? "30m");
      const modelMemory = values["model-memory"];
      // Checked before Python starts; without --ray, LMPROBE_RAY_* of this shell (checked the same way).
      const rayEnv = rayEnvOfFlags(values);
      const started = await startDaemon({
        idleTimeoutS,
        modelMemoryBytes: modelMemory !== undefined ? bytesOption("--model-memory", modelMemory) : undefined,
        rayEnv,
        onProgress: (e) => {
          if (e.type === "setup") process.stderr.write(`[setup] ${e.message}\n`);
        },
      });
      const { pid, endpoint, ray } = started.info;
      const state = started.started ? "started" : "already running";
      const onRay = ray ? `, Ray: ${describeRay(ray)}` : "";
      print(`${state}: pid ${pid}, ${endpoint}${onRay} (log: ${started.log})`, {
        started: started.started,
        pid,
        endpoint,
        ray,
        log: started.log,
        dir: daemonDir(),
      });
      return 0;
    }
    case "status": {
      const result = await daemonStatus();
      if ("none" in result) {
        print(`no daemon running (${result.none})`, { running: false, reason: result.none });
        return 1;
      }
      const s = result.status;
      print(
        [
          `pid: ${s.pid}`,
          `endpoint: ${s.endpoint}`,
          `uptime: ${since(s.uptimeSeconds)}`,
          `clients: ${s.clients}`,
          `requests in flight: ${s.requestsInFlight} (served: ${s.requestsServed})`,
          `loaded models: ${s.models.length ? s.models.map((m) => m.join(" ")).join(", ") : "none"}`,
          `memory: ${mb(s.rssBytes)} resident; models ${mb(s.modelBytes)} of a ${mb(s.modelMemoryBudget)} budget`,
          `idle timeout: ${s.idleTimeoutSeconds > 0 ? `${s.idleTimeoutSeconds} s` : "never"}`,
          `ray: ${describeRay(s.ray)}`,
        ].join("\n"),
        { running: true, ...s },
      );
      return 0;
    }
    case "stop": {
      const result = await stopDaemon();
      if ("none" in result) print(`no daemon running (${result.none})`, { stopped: null, reason: result.none });
      else print(`stopped: pid ${result.pid}`, { stopped: result.pid });
      return 0;
    }
  }
}
