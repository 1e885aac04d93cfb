#!/usr/bin/env node
/**
 * The `lmprobe` command: setup, env, demo, train, predict, sweep, cache, exec, export, worker. `--help` prints
 * to stdout and exits 0; a usage error prints to stderr and exits 2; a failure while running exits 1.
 */
import { delimiter } from "node:path";
import { loadExeca } from "../internal/lazy-execa.js";
import { InvalidOptionError, LmprobeError } from "../errors.js";
import { ensureRay } from "../env/ray-env.js";
import { ensurePythonEnv, managedVenvTorch, torchIndexChoice } from "../env/python-env.js";
import { lmprobeHome, venvDir, WORKER_PYTHONPATH } from "../env/paths.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import { integerOption, parseCommand, wantsHelp } from "./args.js";
import { cacheCommand } from "./cache-command.js";
import { runDemo } from "./demo.js";
import { exportCommand } from "./export-command.js";
import { predictCommand, trainCommand } from "./probe-commands.js";
import { sweepCommand } from "./sweep-command.js";
import { HELP, MAIN_USAGE, type CommandName } from "./usage.js";
import { workerCommand } from "./worker-command.js";

const stdout = (line: string) => process.stdout.write(`${line}\n`);
const stderr = (line: string) => process.stderr.write(`${line}\n`);

const log = (event: { type: string; message?: string }) => {
  if (event.type === "setup" && event.message) stderr(`[setup] ${event.message}`);
};

const isCommand = (name: string | undefined): name is CommandName => name !== undefined && Object.hasOwn(HELP, name);

async function setupCommand(args: string[]): Promise<number> {
  const options = { test: { type: "boolean" }, force: { type: "boolean" }, ray: { type: "boolean" } } as const;
  const { values } = parseCommand({ args, options });
  const started = performance.now();
  const env = await ensurePythonEnv({ test: values.test ?? false, force: values.force ?? false, onProgress: log });
  if (values.ray) await ensureRay(env, log); // the optional Ray extra (python_worker/requirements-ray.txt)
  stderr(
    `[setup] ${env.managed ? "managed venv" : "LMPROBE_PYTHON"} ready: ${env.python} ` +
      `(${((performance.now() - started) / 1000).toFixed(2)} s)`,
  );
  return 0;
}

async function envCommand(args: string[]): Promise<number> {
  const { values } = parseCommand({ args, options: { json: { type: "boolean" } } });
  const managed = !process.env.LMPROBE_PYTHON;
  // What setup would pick now and what the venv was built with: they differ for a venv built
  // before the choice existed, or on another machine (a copied LMPROBE_HOME).
  const torchIndex = managed ? { ...torchIndexChoice(), venv: (await managedVenvTorch()) ?? null } : null;
  await using runtime = new PythonRuntime();
  await runtime.ready(log);
  // The handshake leaves torch unimported (a fit-only worker never needs it); `env` resolves the device.
  const info = await runtime.call("hello", { resolve_device: true });
  const report = {
    home: lmprobeHome(),
    venv: managed ? venvDir() : null,
    workerPath: WORKER_PYTHONPATH,
    torchIndex,
    ...info,
  };
  if (values.json) stdout(JSON.stringify(report, null, 2));
  else
    stdout(
      Object.entries(report)
        .map(([k, v]) => `${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`)
        .join("\n"),
    );
  return 0;
}

async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseCommand({ args, options: { n: { type: "string" }, layers: { type: "string" } } });
  // Checked here, before the worker starts: a typo must not cost a Python start-up.
  const count = integerOption("--n", values.n, { min: 8 });
  const layers = integerOption("--layers", values.layers, { min: -30, max: 29 });
  return runDemo({ ...(count !== undefined ? { count } : {}), ...(layers !== undefined ? { layers } : {}) });
}

async function execCommand(args: string[]): Promise<number> {
  const rest = args[0] === "--" ? args.slice(1) : args;
  const { python } = await ensurePythonEnv({ onProgress: log });
  const execa = await loadExeca();
  const result = await execa(python, rest, {
    stdio: "inherit",
    reject: false,
    env: { PYTHONPATH: [WORKER_PYTHONPATH, process.env.PYTHONPATH].filter(Boolean).join(delimiter) },
  });
  return result.exitCode ?? 1;
}

const COMMANDS: Record<CommandName, (args: string[]) => Promise<number> | number> = {
  setup: setupCommand,
  env: envCommand,
  demo: demoCommand,
  exec: execCommand,
  cache: (args) => cacheCommand(args, stdout),
  train: (args) => trainCommand(args, stdout),
  predict: (args) => predictCommand(args, stdout),
  sweep: (args) => sweepCommand(args, stdout),
  export: (args) => exportCommand(args, stdout),
  worker: (args) => workerCommand(args, stdout),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    stdout(command === "help" && isCommand(rest[0]) ? HELP[rest[0]] : MAIN_USAGE);
    return 0;
  }
  if (!isCommand(command)) {
    stderr(
      `${command === undefined ? "lmprobe: no command given" : `lmprobe: unknown command ${JSON.stringify(command)}`}` +
        `\n\n${MAIN_USAGE}`,
    );
    return 2;
  }
  // `exec -- --help` is Python's --help, not ours.
  if (wantsHelp(rest) && !(command === "exec" && rest[0] === "--")) {
    stdout(HELP[command]);
    return 0;
  }
  try {
    return await COMMANDS[command](rest);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    stderr(`lmprobe ${command}: ${err.message}\nRun \`lmprobe ${command} --help\` for usage.`);
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    stderr(
      (err instanceof LmprobeError ? `${err.name} [${err.code}]: ` : "") +
        (err instanceof Error ? err.message : String(err)),
    );
    process.exitCode = 1;
  },
);
