/**
 * Errors of the Python worker: the process itself (start, exit, connection, protocol) and the
 * exceptions it reports for a request (Python exceptions, OOM, refused requests, bad activations).
 */
import { LmprobeError, type LmprobeErrorCode } from "./base.js";

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
