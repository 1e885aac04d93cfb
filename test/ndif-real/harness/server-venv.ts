/**
 * The real NDIF server's own virtual environment (never the worker's): built once by
 * test/ndif-real/server/install.sh and reused while its fingerprint holds (the requirements,
 * constraints and install script, and the Python it is built with).
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";

/**
 * Folder of the server-side files (install.sh, requirements, the two adapters).
 * LMPROBE_NDIF_SERVER_FILES overrides it for a compiled copy of the harness (bench/ndif-throughput.mjs).
 */
export const SERVER_FILES = process.env.LMPROBE_NDIF_SERVER_FILES ?? join(import.meta.dirname, "..", "server");

/**
 * Where the server venv lives: `LMPROBE_NDIF_SERVER_VENV`, else ~/.cache/lmprobe-ts/ndif-server-venv.
 * Independent of LMPROBE_HOME on purpose: tests point LMPROBE_HOME at temporary folders, and the
 * ~1.7 GB venv should survive them.
 */
export function serverVenvDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LMPROBE_NDIF_SERVER_VENV ?? join(homedir(), ".cache", "lmprobe-ts", "ndif-server-venv");
}

async function basePython(env: NodeJS.ProcessEnv): Promise<{ python: string; version: string }> {
  for (const python of [env.LMPROBE_NDIF_PYTHON, "python3.11", "python3"].filter(Boolean) as string[]) {
    const r = await execa(python, ["-c", "import sys; print(sys.version)"], { reject: false });
    if (r.exitCode === 0) return { python, version: r.stdout.trim() };
  }
  throw new Error("the real-NDIF test tier needs Python 3.11 (python3.11 or python3) to build the NDIF server's venv");
}

/** Fingerprint of what the venv is built from. */
export function fingerprint(pythonVersion: string): string {
  const h = createHash("sha256").update(pythonVersion);
  for (const f of ["requirements.txt", "constraints.txt", "install.sh"])
    h.update(f).update(readFileSync(join(SERVER_FILES, f)));
  return h.digest("hex").slice(0, 24);
}

/**
 * The venv's folder, installing it first when missing or stale (minutes; output goes to `logFile`).
 * Throws with the log's tail when the install fails.
 */
export async function ensureServerVenv(
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ venv: string; installed: boolean; ms: number }> {
  const venv = serverVenvDir(env);
  const { python, version } = await basePython(env);
  const want = fingerprint(version);
  const stamp = join(venv, ".lmprobe-fingerprint");
  if (existsSync(join(venv, "bin", "python")) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === want) {
    return { venv, installed: false, ms: 0 };
  }
  const started = Date.now();
  mkdirSync(dirname(venv), { recursive: true });
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const child = execa("bash", [join(SERVER_FILES, "install.sh"), venv], {
    env: { ...env, LMPROBE_NDIF_PYTHON: python },
    reject: false,
    all: true,
  });
  child.all?.pipe(log);
  const r = await child;
  log.end();
  if (r.exitCode !== 0) {
    const tail = String(r.all ?? "")
      .split("\n")
      .slice(-30)
      .join("\n");
    throw new Error(
      `installing the NDIF server venv into ${venv} failed (exit ${r.exitCode}); full log: ${logFile}\n${tail}`,
    );
  }
  writeFileSync(stamp, want + "\n");
  return { venv, installed: true, ms: Date.now() - started };
}
