/**
 * Ray is an optional extra of the worker (python_worker/requirements-ray.txt): installed into the
 * managed venv on demand (`lmprobe setup --ray`, or the first runtime with a `ray` option), and only
 * checked in an interpreter the user names. It is not part of the venv's fingerprint: a venv rebuilt
 * for new base requirements loses it, and the next Ray use installs it again.
 */
import { join } from "node:path";
import { loadExeca } from "../internal/lazy-execa.js";
import { PythonEnvError } from "../errors.js";
import type { ProgressEvent } from "../types.js";
import { PACKAGE_ROOT } from "./paths.js";
import { run } from "./pip-install.js";
import type { PythonEnv } from "./python-env.js";

/** The requirements of the Ray extra. */
export const RAY_REQUIREMENTS = join(PACKAGE_ROOT, "python_worker", "requirements-ray.txt");

const installing = new Map<string, Promise<void>>();

async function hasRay(python: string): Promise<boolean> {
  const execa = await loadExeca();
  const probe = await execa(python, ["-I", "-c", "import ray"], { reject: false, stdin: "ignore" });
  return !probe.failed;
}

/**
 * Makes sure `env.python` can import Ray: installs the extra into the managed venv, or, for
 * `LMPROBE_PYTHON`, says how to.
 * @throws {PythonEnvError} `PYTHON_ENV` when Ray is missing from a user's interpreter or pip fails.
 */
export function ensureRay(env: PythonEnv, onProgress?: (e: ProgressEvent) => void): Promise<void> {
  let pending = installing.get(env.python);
  if (!pending) {
    pending = (async () => {
      if (await hasRay(env.python)) return;
      if (!env.managed)
        throw new PythonEnvError(
          env.python,
          `The \`ray\` option needs Ray in ${env.python}. Install it with: ` +
            `${env.python} -m pip install -r ${RAY_REQUIREMENTS}`,
          ["ray"],
        );
      const say = (message: string) => onProgress?.({ type: "setup", message });
      say("installing the Ray extra (python_worker/requirements-ray.txt)");
      const pip = ["-I", "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"];
      const constraint = process.env.LMPROBE_PIP_CONSTRAINT;
      await run(
        env.python,
        [...pip, "-r", RAY_REQUIREMENTS, ...(constraint ? ["-c", constraint] : [])],
        env.python,
        say,
      );
    })();
    pending.catch(() => installing.delete(env.python)); // retried on the next call
    installing.set(env.python, pending);
  }
  return pending;
}
