/** Helpers for cache tests: fresh folders, running SDK scripts in a child Node process. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";

export const freshDir = (prefix = "lmprobe-cache-") => mkdtempSync(join(tmpdir(), prefix));

// The package entry a user imports (package.json "exports": the bundle of scripts/bundle.mjs).
const DIST = new URL("../../dist/bundle/index.js", import.meta.url).href;

/** Runs an ES module snippet that can `import { ... } from SDK` in its own Node process. */
export function runNode(
  body: string,
  env: Record<string, string> = {},
): ResultPromise<{ env: Record<string, string>; reject: false; all: true }> {
  const script = `import * as SDK from ${JSON.stringify(DIST)};\n${body}`;
  return execa("node", ["--input-type=module", "-e", script], { env, reject: false, all: true });
}

/** `count` distinct prompts. */
export const manyPrompts = (count: number, tag = "p") =>
  Array.from({ length: count }, (_, i) => `Statement ${tag}${i}: the ${i % 2 ? "cat" : "dog"} number ${i} sat.`);
