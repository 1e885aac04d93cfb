/**
 * Errors of what the SDK depends on outside the call: saved probe files, models, the Python
 * environment, the activation cache, optional npm packages.
 */
import { LmprobeError } from "./base.js";

/** A saved probe cannot be read: missing, truncated, tampered with, or from a newer format. */
export class ProbeFileError extends LmprobeError {
  /** The file or folder at fault. */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("PROBE_FILE", message, options);
    this.path = path;
  }
}

/** The model could not be resolved: a missing folder, no `config.json`, an uncached hub id. */
export class ModelNotFoundError extends LmprobeError {
  /** The model, named the way the user wrote it. */
  readonly model: string;
  constructor(model: string, message: string, options?: { cause?: unknown }) {
    super("MODEL_NOT_FOUND", message, options);
    this.model = model;
  }
}

/** The model folder exists but cannot be used: an unknown architecture, or pickle-only weights. */
export class UnsupportedModelError extends LmprobeError {
  /** The model folder or id, when the worker named it. */
  readonly model: string;
  constructor(model: string, message: string, options?: { cause?: unknown }) {
    super("UNSUPPORTED_MODEL", message, options);
    this.model = model;
  }
}

/** The Python environment is unusable: no interpreter, missing packages, a failed install. */
export class PythonEnvError extends LmprobeError {
  /** The interpreter concerned. */
  readonly pythonPath: string;
  /** Packages that could not be imported, when that is the problem. */
  readonly missing: readonly string[];
  constructor(pythonPath: string, message: string, missing: readonly string[] = [], options?: { cause?: unknown }) {
    super("PYTHON_ENV", message, options);
    this.pythonPath = pythonPath;
    this.missing = missing;
  }
}

/** A failure to open, read or write the activation cache; entries already committed are never lost. */
export class CacheError extends LmprobeError {
  /** The cache folder concerned. */
  readonly dir: string;
  constructor(dir: string, message: string, options?: { cause?: unknown }) {
    super("CACHE", message, options);
    this.dir = dir;
  }
}

/**
 * An optional peer dependency is not installed, e.g. `onnxruntime-node` for `lmprobe-ts/native`.
 * `packages` lists what is missing; the message gives the `npm install` line.
 */
export class MissingDependencyError extends LmprobeError {
  /** The npm packages to install. */
  readonly packages: readonly string[];
  /** What needs them, e.g. `"lmprobe-ts/native"`. */
  readonly feature: string;
  constructor(feature: string, packages: readonly string[], options?: { cause?: unknown }) {
    super(
      "MISSING_DEPENDENCY",
      `${feature} needs ${packages.join(" and ")}, which ${packages.length > 1 ? "are" : "is"} not installed ` +
        `(optional peer dependencies of lmprobe-ts). Install with: npm install ${packages.join(" ")}`,
      options,
    );
    this.packages = packages;
    this.feature = feature;
  }
}
