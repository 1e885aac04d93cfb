/**
 * The sweep report in a real browser: `lmprobe sweep` on the embedded SmolLM2-135M (40 truth
 * statements, six layers) writes report.html, headless Chromium opens it offline, and the test
 * asserts the chart rendered: one SVG point per layer for each split and metric, a non-blank
 * drawing, no console error, no request beyond the file itself. The screenshot is kept in
 * test-artifacts/sweep-report.png. Chromium comes from Debian's package (installed when missing,
 * see test/helpers/chromium.ts); without a way to get it the test is skipped with the reason,
 * unless LMPROBE_REQUIRE_BROWSER=1 makes that a failure.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { truthStatements } from "../../src/demo/truth-dataset.js";
import type { SweepResults } from "../../src/report/sweep-results.js";
import { ensureChromium, killBrowsers, withBrowser } from "../helpers/chromium.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const ARTIFACTS = join(ROOT, "test-artifacts");
const OUT = join(ARTIFACTS, "sweep-report");
const SCREENSHOT = join(ARTIFACTS, "sweep-report.png");
const LAYERS = [0, 6, 12, 18, 24, 29];
const cliPath = join(ROOT, "dist", "cli", "main.js");

const chromium = await ensureChromium();
afterAll(killBrowsers); // a test cut short by its timeout never reaches withBrowser's finally
if ("missing" in chromium) {
  if (process.env.LMPROBE_REQUIRE_BROWSER === "1") throw new Error(`browser test: ${chromium.missing}`);
  console.warn(`SKIPPED the sweep report browser test: ${chromium.missing}`);
}

/** What the page reports about its charts once Vega has drawn them. */
interface PageState {
  charts: string | undefined;
  points: Array<string | null>;
  inkPixels: number;
  totalPixels: number;
  bestText: string;
  references: Array<string | null>;
  rules: number;
}

/**
 * Runs in the page (a string: browser code, outside this file's Node types). Rasterises the drawn
 * SVG onto a white canvas and counts non-white pixels (a blank or empty chart has none), and
 * lists the drawn points by their Vega aria labels ("layer: 6; value: 0.8; split: test; ...").
 */
const PAGE_STATE = `(async () => {
  const svg = document.querySelector("#metrics-chart svg");
  const box = svg.getBoundingClientRect();
  const image = new Image();
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(new XMLSerializer().serializeToString(svg));
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(box.width);
  canvas.height = Math.ceil(box.height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0);
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 600) ink++;
  return {
    charts: document.documentElement.dataset.charts,
    points: [...document.querySelectorAll("#metrics-chart g.mark-symbol path")]
      .map((p) => p.getAttribute("aria-label")),
    inkPixels: ink,
    totalPixels: pixels.length / 4,
    bestText: document.getElementById("best-layer")?.textContent ?? "",
    references: [...document.querySelectorAll("#metrics-chart g.mark-text.role-mark text")].map((t) => t.textContent),
    rules: document.querySelectorAll("#metrics-chart g.mark-rule.role-mark line").length,
  };
})()`;

describe.skipIf("missing" in chromium)("sweep report in headless Chromium", () => {
  it(
    "lmprobe sweep on embedded:smollm2-135m: the report draws one point per layer, offline, without errors",
    {
      timeout: 600_000,
    },
    async () => {
      rmSync(OUT, { recursive: true, force: true });
      mkdirSync(OUT, { recursive: true });
      const data = join(OUT, "truth.jsonl");
      writeFileSync(
        data,
        truthStatements(40, 0)
          .map((s) => JSON.stringify({ text: s.text, label: s.label }))
          .join("\n"),
      );
      const sweep = await execa(
        "node",
        [cliPath, "sweep", "--model", "embedded:smollm2-135m", "--data", data, "--split", "0.25"].concat([
          "--layers",
          LAYERS.join(","),
          "--out",
          OUT,
          "--json",
          "--baselines",
        ]),
        { reject: false },
      );
      expect(sweep.exitCode, sweep.stderr).toBe(0);
      const results = JSON.parse(sweep.stdout) as SweepResults;
      expect(results.layers.map((l) => l.layer)).toEqual(LAYERS);
      expect(results.model.identity).toMatchObject({ kind: "embedded", name: "embedded:smollm2-135m" });
      console.info(
        `sweep embedded:smollm2-135m, ${results.settings.nTrain} train / ${results.settings.nTest} test prompts:\n` +
          results.layers
            .map(
              (l) =>
                `  layer ${String(l.layer).padStart(2)}: train acc ${l.train.accuracy.toFixed(3)} ` +
                `AUROC ${l.train.auroc?.toFixed(3)} | test acc ${l.test.accuracy.toFixed(3)} ` +
                `AUROC ${l.test.auroc?.toFixed(3)} | importance ${l.importance?.toFixed(3)}`,
            )
            .join("\n") +
          `\n  best layer ${results.bestLayer.layer}`,
      );

      const { path } = chromium as { path: string };
      const { state, errors, requests } = await withBrowser(path, async (browser) => {
        const page = await browser.newPage();
        const errors: string[] = [];
        const requests: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(m.text());
        });
        page.on("pageerror", (e) => errors.push(String(e)));
        page.on("request", (r) => requests.push(r.url()));
        await page.setViewport({ width: 1000, height: 900 });
        const url = pathToFileURL(join(OUT, "report.html")).href;
        await page.goto(url, { waitUntil: "load" });
        await page.waitForFunction("document.documentElement.dataset.charts !== undefined", { timeout: 60_000 });
        const state = (await page.evaluate(PAGE_STATE)) as PageState;
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
        return { state, errors, requests };
      });

      expect(errors).toEqual([]);
      // Self-contained: nothing loaded but the page (data: URLs are the test's own rasterising).
      expect(requests.filter((u) => !u.startsWith("data:"))).toEqual([pathToFileURL(join(OUT, "report.html")).href]);
      expect(state.charts).toBe("rendered");
      for (const split of ["train", "test"])
        for (const metric of ["accuracy", "AUROC"]) {
          const drawn = state.points.filter((p) => p?.includes(`split: ${split}`) && p.includes(`metric: ${metric}`));
          expect(
            drawn.map((p) => Number(/layer: (\d+)/.exec(p!)?.[1])),
            `${split} ${metric}`,
          ).toEqual(LAYERS);
        }
      expect(state.inkPixels / state.totalPixels).toBeGreaterThan(0.005);
      expect(state.bestText).toContain(`Best layer: ${results.bestLayer.layer},`);
      // --baselines: the best baseline of each metric is a labelled reference line on its panel.
      const rows = results.baselines!.rows;
      const top = (pick: (r: (typeof rows)[number]) => number | null) =>
        rows.reduce((b, r) => ((pick(r) ?? -1) > (pick(b) ?? -1) ? r : b)).name;
      expect(state.references).toEqual([
        `best baseline: ${top((r) => r.accuracy)}`,
        `best baseline: ${top((r) => r.auroc)}`,
      ]);
      // Two best-layer rules (one per panel) and two reference lines.
      expect(state.rules).toBe(4);
      console.info(
        `baselines (test set, activation ones at layer ${results.baselines!.layer}):\n` +
          rows
            .map((r) => `  ${r.name.padEnd(16)} acc ${r.accuracy.toFixed(3)} AUROC ${r.auroc?.toFixed(3)}`)
            .join("\n"),
      );
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
      console.info(`sweep report screenshot: ${SCREENSHOT}`);
    },
  );
});
