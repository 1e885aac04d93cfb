/** `lmprobe export PROBE_DIR OUT_DIR [--force]`: a saved probe as a native folder (no Python at inference). */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { InvalidOptionError } from "../errors.js";
import { NATIVE_MANIFEST } from "../native/manifest.js";
import { Probe } from "../probe/probe.js";
import type { ProgressEvent } from "../types.js";
import { parseCommand } from "./args.js";
import { HELP } from "./usage.js";

const progress = (e: ProgressEvent) => {
  if (e.type === "model" && e.phase === "loaded") process.stderr.write(`[model] loaded ${e.model}\n`);
  else if (e.type === "export") process.stderr.write(`[export] ${e.phase}\n`);
};

/** Exports the probe saved at PROBE_DIR to OUT_DIR; prints one summary line. */
export async function exportCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand({
    args,
    allowPositionals: true,
    options: { force: { type: "boolean" } },
  });
  const [probePath, outPath, ...extra] = positionals;
  if (!probePath || !outPath || extra.length > 0) {
    process.stderr.write(`${HELP.export}\n`);
    return 2;
  }
  const target = resolve(outPath);
  // Checked before the worker starts: an earlier export is replaced only when asked to.
  if (existsSync(join(target, NATIVE_MANIFEST)) && !values.force) {
    throw new InvalidOptionError(
      "--force",
      `${target} already holds a native export; pass --force to replace it, or choose another folder.`,
    );
  }
  await using probe = await Probe.load(probePath);
  const result = await probe.exportNative(target, { onProgress: progress });
  const m = result.manifest;
  const layers = m.onnx.outputs.map((o) => o.layer);
  out(
    `exported ${result.path}: ${m.model.id} blocks 0..${Math.max(...layers)} (layers ${layers.join(",")}), ` +
      `ONNX ${(result.onnxBytes / 2 ** 20).toFixed(1)} MiB, ` +
      `${m.createdBy.exporter} exporter, opset ${m.createdBy.opset}, ${result.seconds.total.toFixed(1)} s`,
  );
  return 0;
}
