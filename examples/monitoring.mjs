// Monitoring example (README "Monitoring"): a "flag false statements" probe on the embedded
// SmolLM2-135M, calibrated on negative-only control traffic to a 1% false-positive rate, then
// judged by recall at 1% and 5% FPR with 95% bootstrap intervals on held-out statements.
// Run: npm run build && node examples/monitoring.mjs [count]   (count: statements, default 1000)
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probe } from "../dist/index.js";
import { truthStatements } from "../dist/demo/truth-dataset.js";

const count = Number(process.argv[2] ?? 1000);
// The monitor flags false statements: positive (1) = false, negative (0) = true.
const data = truthStatements(count, 0).map((s) => ({ text: s.text, flag: 1 - s.label }));
const train = data.slice(0, count / 2);
const calibration = data.slice(count / 2, (3 * count) / 4);
const test = data.slice((3 * count) / 4);
// Control traffic: only negatives, as a deployment would have (ordinary, true statements).
const controls = calibration.filter((s) => s.flag === 0).map((s) => s.text);

const probe = new Probe({ model: "embedded:smollm2-135m", layers: 16, pooling: "last_token", randomState: 0 });
try {
  await probe.fit(
    train.map((s) => s.text),
    train.map((s) => s.flag),
  );
  const cal = await probe.calibrate(controls, { fpr: 0.01 });
  const m = await probe.evaluate(
    test.map((s) => s.text),
    test.map((s) => s.flag),
    { fpr: [0.01, 0.05], bootstrap: { n: 1000, seed: 0 } },
  );
  if (m.task !== "classification") throw new Error("a classifier");
  // The calibrated threshold on the held-out set: predict now flags P(false) >= threshold.
  const predicted = await probe.predict(test.map((s) => s.text));
  const rate = (flag) =>
    test.filter((s, i) => s.flag === flag && predicted[i] === 1).length / test.filter((s) => s.flag === flag).length;
  const ci = (i) => (i ? `[${i.lower.toFixed(3)}, ${i.upper.toFixed(3)}]` : "n/a");
  const pos = test.filter((s) => s.flag === 1).length;
  console.log(`train ${train.length}, controls ${controls.length}, held out ${test.length} (${pos} false)`);
  const flagged = Math.round(cal.controlFpr * cal.nControls);
  console.log(`calibrated threshold ${cal.threshold.toFixed(4)} (flags ${flagged} of ${cal.nControls} controls)`);
  console.log(`held-out, calibrated threshold: recall ${rate(1).toFixed(3)}, FPR ${rate(0).toFixed(3)}`);
  console.log(`AUROC ${m.auroc?.toFixed(3)} 95% CI ${ci(m.bootstrap.auroc)}`);
  console.log(`accuracy (calibrated labels) ${m.accuracy.toFixed(3)} 95% CI ${ci(m.bootstrap.accuracy)}`);
  m.recallAtFpr.forEach((r, k) =>
    console.log(
      `recall@${r.fpr * 100}%FPR ${r.recall.toFixed(3)} 95% CI ${ci(m.bootstrap.recallAtFpr[k])}` +
        ` (threshold ${r.threshold.toFixed(4)}, held-out FPR ${r.actualFpr.toFixed(3)})`,
    ),
  );
  console.log(`bootstrap: ${m.bootstrap.used} of ${m.bootstrap.n} resamples used (seed ${m.bootstrap.seed})`);
  const dir = join(mkdtempSync(join(tmpdir(), "monitor-")), "probe");
  await probe.save(dir);
  console.log(
    `saved; probe.json state.threshold = ${JSON.parse(readFileSync(join(dir, "probe.json"), "utf8")).state.threshold}`,
  );
} finally {
  await probe.close();
}
