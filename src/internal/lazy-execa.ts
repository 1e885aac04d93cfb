/**
 * execa, imported at first use. Importing it costs ~0.1-0.2 s of a fresh Node process's start,
 * and the paths that attach to a daemon or a served worker never spawn anything: they must not
 * pay for it. Modules keep `import type` for execa's types and call {@link loadExeca} to run.
 */
import type { execa as Execa } from "execa";

let loading: Promise<typeof Execa> | undefined;

/** The `execa` function (the module is imported once, on the first call). */
export function loadExeca(): Promise<typeof Execa> {
  loading ??= import("execa").then((m) => m.execa);
  return loading;
}
