/**
 * The terminal view of a sweep: accuracy per layer drawn with asciichart (test and train), a
 * layer axis under it, and a table of every layer's train/test accuracy and AUROC.
 */
import asciichart from "asciichart";
import type { SweepResults } from "../report/sweep-results.js";

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "  n/a" : v.toFixed(3));

/**
 * The chart: each layer gets a few columns (asciichart plots one column per value), the best
 * layer is starred on the axis. `color`: ANSI colours (terminals only).
 */
export function terminalChart(results: SweepResults, options: { color?: boolean; width?: number } = {}): string {
  const rows = results.layers;
  const step = Math.max(1, Math.min(8, Math.floor((options.width ?? 64) / Math.max(rows.length, 1))));
  const widen = (values: number[]) => values.flatMap((v) => Array<number>(step).fill(v));
  const test = widen(rows.map((r) => r.test.accuracy));
  const train = widen(rows.map((r) => r.train.accuracy));
  const low = Math.min(...test, ...(options.color ? train : []));
  // Without colours two lines cannot be told apart: then only the test accuracy is drawn.
  const chart = asciichart.plot(options.color ? [test, train] : [test], {
    height: 10,
    min: Math.max(0, Math.floor(low * 10) / 10),
    max: 1,
    format: (x: number) => x.toFixed(2).padStart(6),
    ...(options.color ? { colors: [asciichart.blue, asciichart.lightgray] } : {}),
  });
  // asciichart's label column is 6 characters plus the axis (" ┤"): the first value's column follows.
  const pad = " ".repeat(8);
  let axis = "";
  rows.forEach((r, i) => {
    const label = `${r.layer}${r.layer === results.bestLayer.layer ? "*" : ""}`;
    const at = i * step;
    // A label that would touch the previous one is left out (dense sweeps): the table names every layer.
    if (axis.length < at || at === 0) axis = axis.padEnd(at) + label;
  });
  const legend = options.color
    ? `${asciichart.blue}── test${asciichart.reset}   ${asciichart.lightgray}── train${asciichart.reset}`
    : "test set";
  return `accuracy per layer (${legend}; * best layer)\n${chart}\n${pad}${axis}\n${pad}layer`;
}

/** The per-layer table; the best layer's row is marked. */
export function layerTable(results: SweepResults): string {
  const head = "layer  train acc  train AUROC  test acc  test AUROC";
  const lines = results.layers.map((r) =>
    [
      String(r.layer).padStart(5),
      fmt(r.train.accuracy).padStart(9),
      fmt(r.train.auroc).padStart(12),
      fmt(r.test.accuracy).padStart(9),
      fmt(r.test.auroc).padStart(11),
      r.layer === results.bestLayer.layer ? "  <- best" : "",
    ].join(" "),
  );
  return [head, ...lines].join("\n");
}
