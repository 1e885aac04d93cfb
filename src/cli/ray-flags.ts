/** The Ray flags that `lmprobe worker start` and `lmprobe worker serve` share (README "Scale-out on Ray"). */
import { rayFlagsEnv } from "../worker/ray-options.js";

/** parseArgs options of `--ray ADDRESS`, `--ray-workers N`, `--ray-threads N`. */
export const RAY_FLAG_OPTIONS = {
  ray: { type: "string" },
  "ray-workers": { type: "string" },
  "ray-threads": { type: "string" },
} as const;

/**
 * The checked `LMPROBE_RAY_*` variables for the parsed flags, else this shell's, else undefined.
 * @throws {InvalidOptionError} naming the flag (or the variable) and the fix, before Python starts.
 */
export function rayEnvOfFlags(values: {
  ray?: string | undefined;
  "ray-workers"?: string | undefined;
  "ray-threads"?: string | undefined;
}): Record<string, string> | undefined {
  const flags = { ray: values.ray, rayWorkers: values["ray-workers"], rayThreads: values["ray-threads"] };
  return rayFlagsEnv(flags, process.env);
}
