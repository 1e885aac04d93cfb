/**
 * `lmprobe demo` reports its progress (worker start, model load, extraction, fit) on stderr
 * instead of staying silent until the results, and its results on stdout keep their format.
 * A small run on the embedded model (16 statements), stderr not a terminal: one line per phase.
 */
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const cliPath = new URL("../../dist/cli/main.js", import.meta.url).pathname;

describe("lmprobe demo progress", () => {
  it("prints one progress line per phase on stderr; stdout holds only the report", { timeout: 300_000 }, async () => {
    const result = await execa("node", [cliPath, "demo", "--n", "16", "--layers", "3"], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stderr.split("\n");
    const index = (text: string) => lines.findIndex((l) => l.startsWith(text));
    const phases = ["worker: starting Python", "worker: ready (pid ", "model: loaded ", "extract: 12/12 prompts done"];
    const order = [...phases, "fit: training the classifier", "extract: 4/4 prompts done"].map(index);
    expect(
      order.every((i) => i >= 0),
      result.stderr,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order); // in the order they happen
    // The report is unchanged: these lines, in this order, and no progress among them.
    const out = result.stdout.split("\n");
    expect(out[0]).toBe("lmprobe-ts demo: is the statement true? (SmolLM2-135M-Instruct, Q4_1, layer 3, last token)");
    expect(out[1]).toMatch(/^data: 16 generated statements \(12 train \/ 4 held out\), e\.g\. "/);
    expect(out.slice(2, 7).join("\n")).toMatch(
      /^\nstep timings:\n {2}worker start \+ environment check {9}\d+\.\d\d s\n {2}fit \(prepare model, extract, train\) {6}\d+\.\d\d s\n {2}evaluate on held-out set {17}\d+\.\d\d s$/,
    );
    expect(out.slice(7)).toEqual([
      "",
      expect.stringMatching(/^held-out accuracy: \d\.\d{3}$/),
      expect.stringMatching(/^held-out AUROC: {4}(\d\.\d{3}|n\/a)$/),
      expect.stringMatching(/^held-out F1: {7}\d\.\d{3} {2}\(n = 4\)$/),
    ]);
  });
});
