/**
 * The options inside a probe file are untrusted input. Settings that decide where secrets or
 * files go (the NDIF host that receives NDIF_API_KEY, the cache folder the SDK writes, the runtime)
 * are never taken from a file: `save()` does not write them, and a file that has them was crafted
 * or edited, so loading it fails naming the field. The caller passes such settings to `Probe.load`.
 */
import { isRecord } from "../internal/unknown-values.js";

/** Fields of `options` that decide where files or secrets go. */
const WHERE_FIELDS = ["cacheDir", "runtime"] as const;

/** Options in the saved form: without the fields above and without `remote.host`. */
export function portableOptions<T extends { cacheDir?: unknown; runtime?: unknown; remote?: unknown }>(
  options: T,
): Omit<T, "cacheDir" | "runtime"> {
  const { cacheDir: _cacheDir, runtime: _runtime, ...portable } = options;
  if (isRecord(portable.remote) && "host" in portable.remote) {
    const { host: _host, ...remote } = portable.remote;
    return { ...portable, remote };
  }
  return portable;
}

/**
 * Checks the options read from a probe file; `fail` throws ProbeFileError. A file with one of the
 * fields above is refused even when the caller overrides it: only an edited or foreign file has it.
 */
export function checkFileOptions(options: unknown, fail: (message: string) => never): Record<string, unknown> {
  const o = isRecord(options) ? options : fail("its options are not an object.");
  for (const field of WHERE_FIELDS) {
    if (field in o) {
      fail(
        `it sets options.${field}, which decides where files are written; probe files never carry it. ` +
          `Pass it to Probe.load(path, { ${field} }) instead (or remove it from the file if you edited it).`,
      );
    }
  }
  const remote = o.remote;
  if (typeof remote === "object" && remote !== null && "host" in remote) {
    fail(
      "it sets options.remote.host, which decides where NDIF_API_KEY is sent; probe files never carry it. " +
        "Pass Probe.load(path, { remote: { host } }) or set NDIF_HOST instead.",
    );
  }
  return o;
}
