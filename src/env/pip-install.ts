/**
 * The pip side of the managed install: runs the steps {@link pipInstallSteps} plans, falls back
 * from an unreachable automatic torch index, and reads back which torch was installed.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadExeca } from "../internal/lazy-execa.js";
import { PythonEnvError } from "../errors.js";
import { parseJsonObject } from "../internal/unknown-values.js";
import {
  afterTorchFailure,
  pipInstallSteps,
  torchPin,
  torchRequirement,
  type TorchIndexChoice,
} from "./torch-index.js";

/** Inputs of {@link installDependencies}. */
export interface InstallDependenciesInput {
  python: string;
  choice: TorchIndexChoice;
  /** Requirement files (runtime, then test extras); the first holds the torch requirement. */
  requirements: string[];
  constraint?: string;
  /** The venv folder (holds the torch pin file). */
  dir: string;
  /** Reinstall torch: the venv has one from another index. */
  replaceTorch: boolean;
  say: (message: string) => void;
}

/** Runs the pip steps for the choice (falling back as {@link afterTorchFailure} says); returns the index used. */
export async function installDependencies(input: InstallDependenciesInput): Promise<TorchIndexChoice> {
  const { python, choice, say } = input;
  const pinFile = join(input.dir, ".lmprobe-torch-pin.txt");
  const torchReq = torchRequirement(await readFile(input.requirements[0]!, "utf8"));
  const steps = pipInstallSteps({ ...input, torchRequirement: torchReq, pinFile });
  if (steps.length === 1) {
    await run(python, steps[0]!.args, python, say);
    return choice;
  }
  const [first, ...rest] = steps;
  if (!first) return choice;
  say(`installing ${first.what}`);
  const failure = await run(python, first.args, python, say, { rejectOnFailure: false });
  if (failure !== undefined) {
    const decision = afterTorchFailure(choice, failure);
    if (decision.action === "fail") throw new PythonEnvError(python, `${decision.message}\n${failure}`, ["torch"]);
    say(decision.message);
    return installDependencies({ ...input, choice: decision.choice });
  }
  await writeFile(pinFile, torchPin((await installedTorch(python)).version));
  for (const step of rest) {
    say(`installing ${step.what}`);
    await run(python, step.args, python, say);
  }
  return choice;
}

/** The installed torch's version, and whether it is a CUDA build (its metadata requires nvidia-* wheels). */
export async function installedTorch(python: string): Promise<{ version: string; cuda: boolean }> {
  const script =
    "import json; from importlib import metadata as m; r = m.requires('torch') or []; " +
    "cuda = any(x.startswith('nvidia-') and 'extra ==' not in x for x in r); " +
    "print(json.dumps({'version': m.version('torch'), 'cuda': cuda}))";
  const execa = await loadExeca();
  const result = await execa(python, ["-I", "-c", script], { reject: false, stdin: "ignore" });
  if (result.failed)
    throw new PythonEnvError(python, `torch is not installed in ${python} after setup: ${result.stderr.slice(-500)}`, [
      "torch",
    ]);
  const report = parseJsonObject(result.stdout.trim().split("\n").pop() ?? "{}");
  return { version: String(report.version), cuda: report.cuda === true };
}

/**
 * Runs a setup command, echoing pip's main lines. A failure throws the fix with the output's
 * tail, or, with `rejectOnFailure: false`, is returned as that tail (undefined on success).
 */
export async function run(
  cmd: string,
  args: string[],
  pythonPath: string,
  say: (m: string) => void,
  opts: { rejectOnFailure?: boolean } = {},
): Promise<string | undefined> {
  const execa = await loadExeca();
  const child = execa(cmd, args, { all: true, reject: false, stdin: "ignore" });
  const tail: string[] = [];
  child.all?.setEncoding("utf8");
  let partial = "";
  child.all?.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 80) tail.shift(); // enough to hold pip's connection warnings above its final error
      if (/^(Collecting|Installing|Successfully)/.test(line)) say(line.trim());
    }
  });
  const result = await child;
  if (result.failed && opts.rejectOnFailure === false) return tail.concat(partial).join("\n");
  if (result.failed) {
    const why = result.code === "ENOENT" ? `${cmd} was not found` : `exit code ${result.exitCode}`;
    throw new PythonEnvError(
      pythonPath,
      `Setting up the Python environment failed: \`${cmd} ${args.join(" ")}\` (${why}).\n` +
        "Fix the problem below and run `npx lmprobe setup`, or point LMPROBE_PYTHON at an interpreter that has " +
        "the worker's packages.\n" +
        tail.concat(partial).join("\n"),
      [],
      { cause: result },
    );
  }
  return undefined;
}
