/** Small helpers of PythonRuntime (kept apart to keep python-runtime.ts one concept). */
import type { ProgressEvent } from "../types.js";

/** An environment without its unset variables (what a child process takes). */
export function definedEntries(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Calls a progress callback; a throwing callback must never fail the call. */
export function emit(onProgress: ((e: ProgressEvent) => void) | undefined, event: ProgressEvent): void {
  try {
    onProgress?.(event);
  } catch {
    // ignored, see above
  }
}
