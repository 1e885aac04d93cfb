/** Argument parsing of the `lmprobe` subcommands: node:util's parseArgs, with usage errors typed. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InvalidOptionError } from "../errors.js";
import { isOneOf } from "../internal/unknown-values.js";

/** What {@link parseCommand} returns for a config: node's own precise result type. */
export type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** True when the arguments ask for help (`-h`/`--help` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/**
 * parseArgs in strict mode; its TypeErrors (unknown option, missing value, stray positional)
 * become {@link InvalidOptionError}s, which the command line reports as usage errors (exit 2).
 */
export function parseCommand<const T extends ParseArgsConfig>(config: T): Parsed<T> {
  try {
    return parseArgs(config); // strict by default: unknown options and stray positionals throw
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const option = /'(-{1,2}[\w-]+)/.exec(message)?.[1] ?? "arguments";
    throw new InvalidOptionError(option, message.replace(/\. To specify a positional argument.*$/s, "."), {
      cause: err,
    });
  }
}

/** An integer option (`--n 50`), refused with its name unless it is an integer within the bounds. */
export function integerOption(
  name: string,
  value: string | undefined,
  bounds: { min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range =
      bounds.max !== undefined ? ` from ${min} to ${max}` : bounds.min !== undefined ? ` of at least ${min}` : "";
    throw new InvalidOptionError(name, `${name} must be an integer${range}, got ${JSON.stringify(value)}.`);
  }
  return n;
}

/** A string option restricted to a list of names; the error lists them. */
export function choiceOption<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!isOneOf(choices, value)) {
    throw new InvalidOptionError(name, `${name} ${JSON.stringify(value)} is not one of: ${choices.join(", ")}.`);
  }
  return value;
}
