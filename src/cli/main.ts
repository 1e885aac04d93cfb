#!/usr/bin/env node
/** The `lmprobe` command: setup, env, demo, train, predict, cache, exec. */
import { delimiter } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { LmprobeError } from "../errors.js";
import { ensurePythonEnv } from "../env/python-env.js";
import { lmprobeHome, venvDir, WORKER_PYTHONPATH } from "../env/paths.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import { cacheCommand } from "./cache-command.js";
import { runDemo } from "./demo.js";
import { predictCommand, trainCommand } from "./probe-commands.js";

const USAGE = `Usage: lmprobe <command>

Commands:
  setup [--test] [--force]   create or refresh the managed Python environment
  env [--json]               show paths, the interpreter in use and its package versions
  demo [--n N] [--layers L]  train a truth probe on the embedded SmolLM2-135M model
  train OUT --model M (--data F.jsonl | --positive F --negative F) [--layers L] [--classifier C] ...
                             train a probe and save it to the folder OUT
  predict PROBE (--data F | PROMPT...) [--json]
                             predictions of a saved probe (and metrics when F has labels)
  exec -- ARGS...            run the worker's Python interpreter with ARGS (e.g. -m pytest)
  cache info [--json]        activation cache per model: entries, layers, bytes, age
  cache prune --max-gb N     evict least recently used entries down to N GB
  cache clear [--model M]    remove all entries, or those of one model

Environment: LMPROBE_HOME, LMPROBE_PYTHON, LMPROBE_PIP_CONSTRAINT, LMPROBE_CACHE_DIR,
LMPROBE_CACHE_MAX_GB, HF_HOME, HF_TOKEN`;

const log = (event: { type: string; message?: string }) => {
  if (event.type === "setup" && event.message) process.stderr.write(`[setup] ${event.message}\n`);
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "setup": {
      const { values } = parseArgs({ args: rest, options: { test: { type: "boolean" }, force: { type: "boolean" } } });
      const started = performance.now();
      const env = await ensurePythonEnv({ test: values.test ?? false, force: values.force ?? false, onProgress: log });
      process.stderr.write(`[setup] ${env.managed ? "managed venv" : "LMPROBE_PYTHON"} ready: ${env.python} (${((performance.now() - started) / 1000).toFixed(2)} s)\n`);
      return 0;
    }
    case "env": {
      const { values } = parseArgs({ args: rest, options: { json: { type: "boolean" } } });
      await using runtime = new PythonRuntime();
      const info = await runtime.ready(log);
      const report = { home: lmprobeHome(), venv: process.env.LMPROBE_PYTHON ? null : venvDir(), workerPath: WORKER_PYTHONPATH, ...info };
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${Object.entries(report).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("\n")}\n`);
      return 0;
    }
    case "demo": {
      const { values } = parseArgs({ args: rest, options: { n: { type: "string" }, layers: { type: "string" } } });
      return runDemo({ ...(values.n ? { count: Number(values.n) } : {}), ...(values.layers ? { layers: Number(values.layers) } : {}) });
    }
    case "cache":
      return cacheCommand(rest, (line) => process.stdout.write(`${line}\n`));
    case "train":
      return trainCommand(rest, (line) => process.stdout.write(`${line}\n`));
    case "predict":
      return predictCommand(rest, (line) => process.stdout.write(`${line}\n`));
    case "exec": {
      const args = rest[0] === "--" ? rest.slice(1) : rest;
      const { python } = await ensurePythonEnv({ onProgress: log });
      const result = await execa(python, args, {
        stdio: "inherit",
        reject: false,
        env: { PYTHONPATH: [WORKER_PYTHONPATH, process.env.PYTHONPATH].filter(Boolean).join(delimiter) },
      });
      return result.exitCode ?? 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === "help" || command === "--help" ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof LmprobeError ? `${err.name} [${err.code}]: ` : ""}${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
