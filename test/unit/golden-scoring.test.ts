/**
 * Scoring and fitted-state decoding against scikit-learn, with no Python: the fit replies and
 * scikit-learn's predict_proba/predict on held-out rows were produced offline and committed
 * (test/fixtures/golden/scoring.json; regenerate with test/fixtures/make_golden.py). Each case
 * decodes the wire body with fittedStateFromWire and scores raw float32 activations with scoreRows.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Tensor } from "../../src/protocol/codec.js";
import type { FittedState } from "../../src/estimator/fitted-state.js";
import { fittedStateFromWire, type FitReply } from "../../src/protocol/fit.js";
import { pairwiseCoupling, sigmoidPredict } from "../../src/estimator/libsvm-proba.js";
import { hasProba, scoreRows } from "../../src/estimator/scoring.js";

interface GoldenCase {
  name: string;
  context: { task: FittedState["task"]; layers: number[] };
  x: { rows: number; data: number[] };
  body: Record<string, unknown>;
  expected: { proba?: number[][]; labels?: number[]; values?: number[] };
  /** Largest allowed |ours − scikit-learn|, set (and explained) by make_golden.py. */
  tolerance: number;
}

const golden = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "fixtures", "golden", "scoring.json"), "utf8"),
) as {
  cases: GoldenCase[];
};

/** Turns the JSON stand-ins `{dtype, shape, data: number[]}` back into wire tensors. */
function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o.dtype === "float64" && Array.isArray(o.shape) && Array.isArray(o.data)) {
      return {
        dtype: "float64",
        shape: o.shape as number[],
        data: Float64Array.from(o.data as number[]),
      } satisfies Tensor;
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

const noOpaque = () => Promise.reject(new Error("a golden case never has an opaque model"));
const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("golden values from scikit-learn (no Python)", () => {
  it("covers every link the fixtures promise", () => {
    const names = golden.cases.map((c) => c.name);
    for (const want of [
      "logistic binary",
      "softmax",
      "ovr",
      "linear SVC decision",
      "libsvm probabilities, 2",
      "libsvm probabilities, 3",
      "ridge",
      "pca",
      "mass-mean",
    ]) {
      expect(
        names.some((n) => n.includes(want)),
        want,
      ).toBe(true);
    }
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const state = fittedStateFromWire(revive(c.body) as FitReply, { ...c.context, path: "prompt" });
    // Decoding: the arrays land where scoring reads them.
    const body = c.body as {
      model: { link: string; classes: number[]; coef: { shape: number[] } };
      preprocessing: unknown[];
    };
    expect(state.model.kind).toBe("linear");
    expect(state.model.kind === "linear" && state.model.link).toBe(body.model.link);
    expect(state.model.classes).toEqual(body.model.classes);
    expect(state.layers).toEqual(c.context.layers);
    expect(state.preprocessing).toHaveLength(body.preprocessing.length);
    if (state.model.kind === "linear")
      expect(state.model.coef).toHaveLength(body.model.coef.shape.reduce((a, b) => a * b, 1));
    expect(hasProba(state.model)).toBe(c.expected.proba !== undefined);

    const x = Float32Array.from(c.x.data);
    const out = await scoreRows(state, x, c.x.rows, noOpaque);
    if (c.expected.values) {
      expect(out.values).toHaveLength(c.x.rows);
      expect(maxDiff(out.values!, c.expected.values)).toBeLessThanOrEqual(
        c.tolerance * (1 + Math.max(...c.expected.values.map(Math.abs))),
      );
      return;
    }
    expect(out.labels).toEqual(c.expected.labels);
    if (c.expected.proba) {
      expect(out.proba).toHaveLength(c.x.rows);
      out.proba!.forEach((row, i) =>
        expect(maxDiff(row, c.expected.proba![i]!), `row ${i}`).toBeLessThanOrEqual(c.tolerance),
      );
    } else {
      expect(out.proba).toBeUndefined();
    }
  });
});

describe("LIBSVM helpers", () => {
  it("clamps the pairwise sigmoid to [1e-7, 1 − 1e-7] on both overflow sides", () => {
    expect(sigmoidPredict(1e6, 1, 0)).toBe(1e-7);
    expect(sigmoidPredict(-1e6, 1, 0)).toBe(1 - 1e-7);
    expect(sigmoidPredict(0, 1, 0)).toBe(0.5);
  });

  it("couples consistent pairwise probabilities back to the class probabilities", () => {
    const p = [0.5, 0.3, 0.2];
    const pairwise = [p[0]! / (p[0]! + p[1]!), p[0]! / (p[0]! + p[2]!), p[1]! / (p[1]! + p[2]!)];
    const got = pairwiseCoupling(3, pairwise);
    expect(maxDiff(got, p)).toBeLessThan(1e-3); // the iteration stops at LIBSVM's eps = 0.005 / k
    expect(got.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});
