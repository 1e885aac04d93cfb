/** `lmprobe demo`: a truth probe on the embedded SmolLM2-135M, with per-step timings. */
import { Probe } from "../probe/probe.js";
import { truthStatements } from "../demo/truth-dataset.js";
import { CliProgress, progressMode } from "./progress.js";

/** Options of the demo. */
export interface DemoOptions {
  /** Number of generated statements (a quarter is held out). @default 500 */
  count?: number;
  /** Decoder block to probe. @default 16 */
  layers?: number;
}

/** Runs the demo and prints a report; returns the process exit code. */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const data = truthStatements(options.count ?? 500, 0);
  const cut = Math.floor(data.length * 0.75);
  const train = data.slice(0, cut);
  const test = data.slice(cut);
  const layer = options.layers ?? 16;
  out(`lmprobe-ts demo: is the statement true? (SmolLM2-135M-Instruct, Q4_1, layer ${layer}, last token)`);
  out(
    `data: ${data.length} generated statements (${train.length} train / ${test.length} held out), ` +
      `e.g. "${data[0]?.text}"`,
  );

  // Worker start, model load, extraction and fit progress on stderr (bars on a terminal): the
  // results on stdout stay as they were.
  const progress = new CliProgress(progressMode(process.stderr));
  const { onProgress } = progress;
  const timings: Array<[string, number]> = [];
  const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    timings.push([label, (performance.now() - t0) / 1000]);
    return value;
  };

  const probe = new Probe({
    model: "embedded:smollm2-135m",
    layers: layer,
    pooling: "last_token",
    randomState: 0,
    batchSize: 16,
  });
  try {
    await timed("worker start + environment check", () => probe.runtime.ready(onProgress));
    await timed("fit (prepare model, extract, train)", () =>
      probe.fit(
        train.map((s) => s.text),
        train.map((s) => s.label),
        { onProgress },
      ),
    );
    const metrics = await timed("evaluate on held-out set", () =>
      probe.evaluate(
        test.map((s) => s.text),
        test.map((s) => s.label),
        { onProgress },
      ),
    );
    progress.stop();
    if (metrics.task !== "classification") throw new Error("the demo probe is a classifier");
    out("\nstep timings:");
    for (const [label, secs] of timings) out(`  ${label.padEnd(40)} ${secs.toFixed(2)} s`);
    out(`\nheld-out accuracy: ${metrics.accuracy.toFixed(3)}`);
    out(`held-out AUROC:    ${metrics.auroc?.toFixed(3) ?? "n/a"}`);
    out(`held-out F1:       ${metrics.f1.toFixed(3)}  (n = ${metrics.nEval})`);
    return 0;
  } finally {
    progress.stop();
    await probe.close();
  }
}
