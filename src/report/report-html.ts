/**
 * report.html of `lmprobe sweep`: one self-contained page (no network: the Vega runtime is
 * inlined from node_modules, the data and compiled specs are embedded) with the per-layer chart,
 * layer importances, the best layer, a per-layer table, optional baselines, settings and model.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { importanceSpec, metricsSpec, toVega } from "./chart-spec.js";
import type { SweepResults } from "./sweep-results.js";

/** The Vega runtime's browser build (UMD, defines `vega`), from the installed package. */
function vegaRuntime(): string {
  // vega's exports name only its module build; the minified browser build sits beside it.
  const entry = createRequire(import.meta.url).resolve("vega");
  return readFileSync(join(dirname(entry), "vega.min.js"), "utf8");
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** JSON (or script) safe inside a <script> element: no `</script` or `<!--` can end it early. */
const scriptSafe = (text: string): string => text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
const jsonSafe = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c");

const num = (v: number | null | undefined): string => (v === null || v === undefined ? "n/a" : v.toFixed(3));

function table(head: string[], rows: string[][], highlight?: (i: number) => boolean, cls = "num"): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows
    .map((r, i) => `<tr${highlight?.(i) ? ' class="best"' : ""}>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The test split's recall at each target FPR, when the sweep measured it (binary probes). */
function recallColumns(r: SweepResults): number[] {
  return r.layers[0]?.test.recallAtFpr?.map((x) => x.fpr) ?? [];
}

const pct = (fpr: number): string => `${+(fpr * 100).toFixed(2)}%`;

function layerTable(r: SweepResults): string {
  const fprs = recallColumns(r);
  const head = ["layer", "train accuracy", "train AUROC", "test accuracy", "test AUROC", "test F1"];
  head.push(...fprs.map((f) => `test recall@${pct(f)}FPR`));
  if (r.layerImportances) head.push("importance");
  const rows = r.layers.map((l) => [
    String(l.layer),
    num(l.train.accuracy),
    num(l.train.auroc),
    num(l.test.accuracy),
    num(l.test.auroc),
    num(l.test.f1),
    ...fprs.map((f) => num(l.test.recallAtFpr?.find((x) => x.fpr === f)?.recall)),
    ...(r.layerImportances ? [num(l.importance)] : []),
  ]);
  return table(head, rows, (i) => r.layers[i]!.layer === r.bestLayer.layer);
}

function baselineTable(r: SweepResults): string {
  const b = r.baselines;
  if (!b) return "";
  const best = r.bestLayer;
  const rows = [
    [`probe (layer ${best.layer})`, "probe", num(best.test.accuracy), num(best.test.auroc)],
    ...b.rows.map((row) => [row.name, row.kind, num(row.accuracy), num(row.auroc)]),
  ];
  const at = b.layer !== null ? ` Activation baselines read layer ${b.layer} (${b.pooling} pooling).` : "";
  const why = b.skipped.map((s) => `${esc(s.name)} (${esc(s.code ?? "error")}: ${esc(s.message)})`);
  const skipped = why.length ? `\n<p>Skipped: ${why.join("; ")}.</p>` : "";
  return (
    `<h2>Baselines (test set)</h2>\n<p>lmprobe's baseline battery on the same train/test split, ` +
    `${b.nTest} test prompts.${esc(at)}</p>\n` +
    `${table(["", "kind", "accuracy", "AUROC"], rows, (i) => i === 0)}${skipped}`
  );
}

function settingsTable(r: SweepResults): string {
  const s = r.settings;
  const data = Object.entries(s.data).map(([k, v]) => `${k}: ${v}`);
  const rows: Array<[string, string]> = [
    ["model", s.model],
    ["layers", `${s.layerSpec} → ${r.layers.map((l) => l.layer).join(", ")}`],
    ["classifier", s.classifier],
    ["pooling", s.pooling],
    ["seed", String(s.seed)],
    ["data", data.join("; ")],
    ["prompts", `${s.nTrain} train / ${s.nTest} test`],
    ["model revision", r.model.revision ?? "(not a hub model)"],
    ["model fingerprint", r.model.fingerprint],
    ["model identity", JSON.stringify(r.model.identity)],
    ["created", r.createdAt],
  ];
  return table(["setting", "value"], rows, undefined, "kv");
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 9px;text-align:right}th{background:#f4f4f4}
table.kv td,table.kv th{text-align:left}table.kv td+td{word-break:break-all}
td:first-child,th:first-child{text-align:left}tr.best td{background:#fff6d6;font-weight:600}
.summary{font-size:1.1em;background:#f6f8fa;padding:.6em 1em;border-radius:6px}.chart{margin:1em 0}`;

/** Draws each chart with Vega's SVG renderer; the page records the outcome on <html data-charts>. */
const RENDER = `(async () => {
  const specs = JSON.parse(document.getElementById("chart-specs").textContent);
  try {
    for (const [id, spec] of Object.entries(specs)) {
      const view = new vega.View(vega.parse(spec), { renderer: "svg", container: "#" + id, hover: true });
      await view.runAsync();
    }
    document.documentElement.dataset.charts = "rendered";
  } catch (err) {
    document.documentElement.dataset.charts = "failed";
    console.error("lmprobe report: a chart failed to render:", err);
  }
})();`;

const importanceSection = (r: SweepResults): string =>
  `<h2>Layer importance</h2>\n<p>${esc(r.layerImportances?.note)}.</p>\n` +
  '<div class="chart" id="importance-chart"></div>';

/** The report page for sweep results (a string of HTML, self-contained). */
export function renderReportHtml(results: SweepResults): string {
  const specs: Record<string, object> = { "metrics-chart": toVega(metricsSpec(results)) };
  const importance = importanceSpec(results);
  if (importance) specs["importance-chart"] = toVega(importance);
  const best = results.bestLayer;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lmprobe sweep: ${esc(results.model.id)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Layer sweep: ${esc(results.model.id)}</h1>
<p class="summary" id="best-layer">Best layer: <strong>${best.layer}</strong>, test accuracy ${num(best.test.accuracy)},
test AUROC ${num(best.test.auroc)} (${esc(best.criterion)}; ${results.settings.nTest} test prompts).</p>
<h2>Accuracy and AUROC per layer</h2>
<div class="chart" id="metrics-chart"></div>
${importance ? importanceSection(results) : ""}
<h2>Per layer</h2>
${layerTable(results)}
${baselineTable(results)}
<h2>Settings and model</h2>
${settingsTable(results)}
<script type="application/json" id="sweep-results">${jsonSafe(results)}</script>
<script type="application/json" id="chart-specs">${jsonSafe(specs)}</script>
<script>${scriptSafe(vegaRuntime())}</script>
<script>${RENDER}</script>
</body>
</html>
`;
}
