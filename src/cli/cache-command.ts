/** `lmprobe cache info|prune|clear`: inspect and bound the activation cache. */
import { ActivationCache } from "../cache/activation-cache.js";
import { cacheMaxGb, defaultCacheDir } from "../env/paths.js";
import { InvalidOptionError } from "../errors.js";
import { parseCommand } from "./args.js";
import { HELP } from "./usage.js";

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(3)} GB`;

/** `lmprobe cache info|prune|clear`; returns the exit code. */
export function cacheCommand(args: string[], out: (line: string) => void): number {
  const [action, ...rest] = args;
  if (action !== "info" && action !== "prune" && action !== "clear") {
    const problem =
      action === undefined
        ? "lmprobe cache: no action given"
        : `lmprobe cache: unknown action ${JSON.stringify(action)}`;
    process.stderr.write(`${problem}\n\n${HELP.cache}\n`);
    return 2;
  }
  const { values } = parseCommand({
    args: rest,
    options: {
      json: { type: "boolean" },
      "max-gb": { type: "string" },
      model: { type: "string" },
      dir: { type: "string" },
    },
  });
  const cache = new ActivationCache(values.dir ?? defaultCacheDir(), { maxGb: cacheMaxGb() });
  try {
    switch (action) {
      case "info": {
        const models = cache.info();
        if (values.json) {
          out(JSON.stringify({ dir: cache.dir, maxGb: cacheMaxGb(), bytes: cache.totalBytes(), models }, null, 2));
          return 0;
        }
        out(`activation cache: ${cache.dir} (${gb(cache.totalBytes())} of ${cacheMaxGb()} GB)`);
        for (const m of models) {
          out(
            `  ${m.model}\n    entries ${m.entries}, prompts ${m.prompts}, layers ${m.layers}, ${gb(m.bytes)}, ` +
              `${m.oldest?.toISOString()} … ${m.newest?.toISOString()}`,
          );
        }
        if (models.length === 0) out("  (empty)");
        return 0;
      }
      case "prune": {
        const limit = Number(values["max-gb"]);
        if (values["max-gb"] === undefined || !Number.isFinite(limit) || limit < 0) {
          throw new InvalidOptionError("--max-gb", "lmprobe cache prune needs --max-gb N (a size in GB, 0 or more).");
        }
        const { removed, bytes } = cache.evictTo(limit * 1024 ** 3);
        const temporaries = cache.removeTemporaries();
        out(`removed ${removed} least recently used entries (${gb(bytes)}); ${gb(cache.totalBytes())} left`);
        if (temporaries > 0) out(`removed ${temporaries} temporary files left by interrupted writes`);
        return 0;
      }
      case "clear": {
        const removed = cache.clear(values.model);
        out(`removed ${removed} entries${values.model ? ` of ${values.model}` : ""}`);
        return 0;
      }
    }
  } finally {
    cache.close();
  }
}
