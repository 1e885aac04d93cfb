/**
 * The error tree of lmprobe-ts. Every error the SDK throws is an {@link LmprobeError} with a
 * stable `code`; programs branch on `code` or `instanceof`, never on the message text.
 */

/** Stable error codes. */
export type LmprobeErrorCode =
  | "INVALID_OPTION"
  | "INVALID_INPUT"
  | "NOT_FITTED"
  | "MODEL_NOT_FOUND"
  | "PYTHON_ENV"
  | "WORKER_START"
  | "WORKER_EXITED"
  | "PROTOCOL"
  | "PYTHON_EXCEPTION"
  | "PYTHON_OOM"
  | "BAD_REQUEST"
  | "BAD_ACTIVATIONS"
  | "UNSUPPORTED_MODEL"
  | "ABORTED"
  | "TIMEOUT"
  | "CACHE"
  | "NOT_SUPPORTED"
  | "PROBE_FILE"
  | "REMOTE"
  | "REMOTE_AUTH"
  | "REMOTE_REJECTED"
  | "REMOTE_JOB"
  | "REMOTE_TIMEOUT"
  | "MISSING_DEPENDENCY"
  | "WORKER_CONNECT"
  | "RAY_CLUSTER";

/** Base class of every error thrown by lmprobe-ts. */
export class LmprobeError extends Error {
  /** Stable machine-readable code. */
  readonly code: LmprobeErrorCode;
  constructor(code: LmprobeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // Each class names itself (stack traces, `err.name`, the CLI's "Name [CODE]"): no list to keep.
    Object.defineProperty(this, "name", {
      value: new.target.name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}

/** An option passed to `new Probe(...)` or to a method is invalid; `option` names it. */
export class InvalidOptionError extends LmprobeError {
  /** The option at fault, e.g. `"layers"` or `"batchSize"`. */
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super("INVALID_OPTION", message, options);
    this.option = option;
  }
}

/** Data passed to a method is invalid: empty prompt lists, mismatched labels, one class only... */
export class InvalidInputError extends LmprobeError {
  /** The argument at fault, e.g. `"labels"`. */
  readonly argument: string;
  /** Position of the offending item in that argument (e.g. which prompt), when one item is at fault. */
  readonly index: number | undefined;
  constructor(argument: string, message: string, options: { index?: number; cause?: unknown } = {}) {
    super("INVALID_INPUT", message, options.cause === undefined ? undefined : { cause: options.cause });
    this.argument = argument;
    this.index = options.index;
  }
}

/** A method that needs a fitted probe was called before `fit()`. */
export class NotFittedError extends LmprobeError {
  constructor(method: string, message = `${method}() needs a fitted probe: call fit() first.`) {
    super("NOT_FITTED", message);
  }
}

/** The operation does not apply to this probe, e.g. `predictProba` on a regression probe. */
export class NotSupportedError extends LmprobeError {
  /** The method that was called. */
  readonly method: string;
  constructor(method: string, message: string) {
    super("NOT_SUPPORTED", message);
    this.method = method;
  }
}

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

/** Base class of failures of the worker process itself. */
export class WorkerError extends LmprobeError {
  /** The last lines the worker wrote to stderr. */
  readonly stderrTail: string;
  constructor(code: LmprobeErrorCode, message: string, stderrTail: string, options?: { cause?: unknown }) {
    super(code, stderrTail ? `${message}\n--- last worker stderr ---\n${stderrTail}` : message, options);
    this.stderrTail = stderrTail;
  }
}

/** The worker did not start or did not complete its handshake. */
export class WorkerStartError extends WorkerError {
  constructor(message: string, stderrTail: string, options?: { cause?: unknown }) {
    super("WORKER_START", message, stderrTail, options);
  }
}

/** The worker exited (crash, kill, close) while a call was in flight. The next call starts a fresh one. */
export class WorkerExitedError extends WorkerError {
  /** Exit code of the worker process, if it exited normally. */
  readonly exitCode: number | null;
  /** Signal that killed it, if any. */
  readonly signal: string | null;
  constructor(message: string, exitCode: number | null, signal: string | null, stderrTail: string) {
    super("WORKER_EXITED", message, stderrTail);
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/** Why a connection to a served worker (`PythonRuntime({ connect })`) failed. */
export type WorkerConnectReason = "refused" | "server-key" | "unreachable" | "timeout";

/**
 * A served worker (`lmprobe worker serve`, reached with `connect`) could not be reached or
 * refused this client: `reason` tells which, the message names the fix. Never holds a secret key.
 */
export class WorkerConnectError extends WorkerError {
  /** The `tcp://` endpoint. */
  readonly endpoint: string;
  /** `refused` (the server's allow-list lacks this client's public key), `server-key` (the handshake failed:
   * wrong server public key, or not a CURVE worker), `unreachable` (nothing listens), `timeout`. */
  readonly reason: WorkerConnectReason;
  constructor(endpoint: string, reason: WorkerConnectReason, message: string) {
    super("WORKER_CONNECT", message, "");
    this.endpoint = endpoint;
    this.reason = reason;
  }
}

/** A malformed message crossed the wire, or the worker speaks another protocol version. */
export class ProtocolError extends WorkerError {
  constructor(message: string, stderrTail = "") {
    super("PROTOCOL", message, stderrTail);
  }
}

/** What the worker reports about a failed request. */
export interface PythonErrorInfo {
  /** The worker's code, e.g. `"PYTHON_EXCEPTION"` or `"BAD_REQUEST"`. */
  code: string;
  /** Python exception type name. */
  ename: string;
  /** Python exception message. */
  evalue: string;
  /** Formatted traceback lines. */
  traceback: string[];
}

/** An exception raised inside the Python worker while handling a request. */
export class PythonError extends LmprobeError {
  /** The request type that failed, e.g. `"extract"`. */
  readonly method: string;
  /** Python exception type name, e.g. `"ValueError"`. */
  readonly pythonType: string;
  /** Python exception message. */
  readonly pythonMessage: string;
  /** Formatted Python traceback. */
  readonly pythonTraceback: string;
  /** Code the worker attached (`PYTHON_EXCEPTION`, or a code from a newer worker). */
  readonly workerCode: string;
  constructor(method: string, info: PythonErrorInfo, code: LmprobeErrorCode = "PYTHON_EXCEPTION") {
    super(code, `Python worker failed in ${method}: ${info.ename}: ${info.evalue}`);
    this.method = method;
    this.pythonType = info.ename;
    this.pythonMessage = info.evalue;
    this.pythonTraceback = info.traceback.join("");
    this.workerCode = info.code;
  }
}

/** The worker ran out of memory (host RAM or the accelerator's): use a smaller `batchSize` or model. */
export class PythonOomError extends PythonError {
  constructor(method: string, info: PythonErrorInfo) {
    super(method, info, "PYTHON_OOM");
  }
}

/**
 * The worker refused a request: malformed or unsupported (e.g. a parameter its scikit-learn
 * does not accept). Checks in TypeScript catch user mistakes first; this is the worker's own line.
 */
export class BadRequestError extends PythonError {
  constructor(method: string, info: PythonErrorInfo) {
    super(method, info, "BAD_REQUEST");
  }
}

/** Activations handed to the worker hold NaN or infinite values (e.g. from `fitFromActivations`). */
export class BadActivationsError extends PythonError {
  constructor(method: string, info: PythonErrorInfo) {
    super(method, info, "BAD_ACTIVATIONS");
  }
}

/** The call was cancelled through its `AbortSignal`; `cause` is the signal's reason. */
export class AbortError extends LmprobeError {
  constructor(options?: { cause?: unknown }) {
    super("ABORTED", "The operation was aborted.", options);
  }
}

/** The call took longer than its `timeout`. */
export class TimeoutError extends LmprobeError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super("TIMEOUT", `${what} did not finish within ${timeoutMs} ms.`);
    this.timeoutMs = timeoutMs;
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

/** Where a remote (NDIF) failure happened: host, job, last status, attempts. */
export interface RemoteErrorInfo {
  /** The NDIF host, e.g. `"https://api.ndif.us"`. */
  host?: string;
  /** The NDIF job id, when a job was submitted. */
  jobId?: string;
  /** The job's last status seen (`"QUEUED"`, `"RUNNING"`, `"ERROR"`...). */
  status?: string;
  /** Attempts made for the failing batch (1 + retries). */
  attempts?: number;
  /** HTTP status of the failing request, when there was one. */
  httpStatus?: number;
}

/**
 * A failure of remote execution on NDIF. `code` tells which: `REMOTE` (transport, retries
 * exhausted), `REMOTE_AUTH` (missing or refused `NDIF_API_KEY`), `REMOTE_REJECTED` (the server
 * refused the request, e.g. an unknown model or a client version it does not accept), plus the
 * subclasses {@link RemoteJobError} and {@link RemoteTimeoutError}.
 */
export class RemoteError extends LmprobeError {
  readonly host: string | undefined;
  readonly jobId: string | undefined;
  readonly status: string | undefined;
  readonly attempts: number | undefined;
  readonly httpStatus: number | undefined;
  constructor(
    code: Extract<LmprobeErrorCode, `REMOTE${string}`>,
    message: string,
    info: RemoteErrorInfo = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.host = info.host;
    this.jobId = info.jobId;
    this.status = info.status;
    this.attempts = info.attempts;
    this.httpStatus = info.httpStatus;
  }
}

/** An NDIF job ended in ERROR; `remoteTraceback` is the server's description (its Python traceback). */
export class RemoteJobError extends RemoteError {
  readonly remoteTraceback: string;
  constructor(message: string, remoteTraceback: string, info: RemoteErrorInfo = {}) {
    super("REMOTE_JOB", message, info);
    this.remoteTraceback = remoteTraceback;
  }
}

/** An NDIF job did not complete before its deadline. The job stays recorded: a rerun collects it. */
export class RemoteTimeoutError extends RemoteError {
  /** The deadline per job, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, info: RemoteErrorInfo = {}) {
    super("REMOTE_TIMEOUT", message, info);
    this.timeoutMs = timeoutMs;
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
