/**
 * The error tree of lmprobe-ts. Every error the SDK throws is an {@link LmprobeError} with a
 * stable `code`; programs branch on `code` or `instanceof`, never on the message text. The
 * classes live in src/errors/ by family; this module is the one place the rest of the SDK (and
 * the package's public API) imports them from.
 */
export * from "./errors/base.js";
export * from "./errors/usage-errors.js";
export * from "./errors/resource-errors.js";
export * from "./errors/worker-errors.js";
export * from "./errors/remote-errors.js";
