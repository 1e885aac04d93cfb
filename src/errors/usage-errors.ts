/**
 * Errors of how the SDK was called: a bad option or argument, a method before `fit`, an
 * operation that does not apply, an aborted or timed-out call.
 */
import { LmprobeError } from "./base.js";

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
