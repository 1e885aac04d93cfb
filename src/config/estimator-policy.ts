/**
 * What options (and so a probe file) may put into a scikit-learn constructor. A probe folder is
 * untrusted input: some scikit-learn parameters make joblib write and load pickles in a folder
 * they name (`memory`), which would let a crafted `probe.json` run code in the worker. So this is
 * an allow-list: estimator classes from public modules of plain estimators, parameter names that
 * are identifiers, and values that are scalars, short option strings (never a path) or flat
 * lists/maps of those. The worker applies the same rules again (python_worker param_policy.py).
 */
import { availableParallelism } from "node:os";
import { InvalidOptionError } from "../errors.js";
import { isOneOf } from "../internal/unknown-values.js";

/** scikit-learn modules whose estimators a custom `classifier` may come from. */
export const SAFE_ESTIMATOR_MODULES = [
  "calibration",
  "cross_decomposition",
  "discriminant_analysis",
  "dummy",
  "ensemble",
  "gaussian_process",
  "isotonic",
  "kernel_ridge",
  "linear_model",
  "naive_bayes",
  "neighbors",
  "neural_network",
  "svm",
  "tree",
] as const;

/** Parameters refused whatever their value: they reach joblib's on-disk pickle cache. */
const FORBIDDEN = new Set(["memory"]);
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const CLASS = /^[A-Z][A-Za-z0-9]*$/;
const SAFE_STRING = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$/;
const MAX_ITEMS = 10_000;

/** Throws InvalidOptionError unless `path` is `sklearn.<allowed module>.<Class>`. */
export function checkEstimatorPath(path: string): void {
  const parts = path.split(".");
  const module = parts[1] ?? "";
  if (
    parts.length !== 3 ||
    parts[0] !== "sklearn" ||
    !isOneOf(SAFE_ESTIMATOR_MODULES, module) ||
    !CLASS.test(parts[2] ?? "")
  ) {
    throw new InvalidOptionError(
      "classifier",
      `Invalid Probe options: classifier.estimator "${path}" is not allowed: use a public class path ` +
        `sklearn.<module>.<Class> with <module> one of ${SAFE_ESTIMATOR_MODULES.join(", ")} ` +
        `(e.g. "sklearn.svm.LinearSVC").`,
    );
  }
}

function scalarProblem(value: unknown): string | undefined {
  if (value === null || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : "numbers must be finite";
  if (typeof value === "string") {
    return SAFE_STRING.test(value)
      ? undefined
      : `string "${value}" is not a plain option value (letters, digits, _ . + -; no paths)`;
  }
  return "values must be numbers, booleans, null, short option strings or flat lists or maps of those";
}

function valueProblem(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    if (value.length > MAX_ITEMS) return `lists may hold at most ${MAX_ITEMS} items`;
    return value.map(scalarProblem).find((p) => p !== undefined);
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (!SAFE_STRING.test(key)) return `map key "${key}" is not a plain value`;
      const problem = scalarProblem(item);
      if (problem) return problem;
    }
    return undefined;
  }
  return scalarProblem(value);
}

/**
 * Throws InvalidOptionError naming `option.key` for the first parameter outside the allow-list.
 * `option` is where the parameters came from: "classifier.params" or "classifierKwargs".
 */
export function checkEstimatorParams(option: string, params: Record<string, unknown> | undefined): void {
  const cpus = availableParallelism();
  for (const [key, value] of Object.entries(params ?? {})) {
    const fail = (why: string): never => {
      throw new InvalidOptionError(option, `Invalid Probe options: ${option}.${key} is not allowed: ${why}.`);
    };
    if (!NAME.test(key) || key.includes("__")) fail("names must be plain identifiers (no nested 'a__b' parameters)");
    if (FORBIDDEN.has(key)) fail("it makes scikit-learn read and write pickles on disk");
    if (
      key === "n_jobs" &&
      value !== null &&
      !(Number.isInteger(value) && Number(value) >= 1 && Number(value) <= cpus)
    ) {
      fail(`n_jobs must be null or an integer from 1 to ${cpus} (this machine's cores)`);
    }
    const problem = valueProblem(value);
    if (problem) fail(problem);
  }
}
