import { describe, expect, it } from "vitest";
import {
  accuracy,
  evalHash,
  precisionRecallF1,
  rocAuc,
  macroPrecisionRecallF1,
  ovrRocAuc,
  r2Score,
  regressionErrors,
} from "../../src/estimator/metrics.js";

describe("metrics", () => {
  it("computes ROC AUC with ties counted half, like sklearn", () => {
    // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) == 0.75
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(0.5, 12);
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNull();
  });

  it("computes binary precision, recall and F1 with zero_division=0", () => {
    expect(precisionRecallF1([1, 1, 0, 0], [1, 0, 1, 0])).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(precisionRecallF1([0, 0], [0, 0])).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(accuracy([1, 0, 1], [1, 1, 1])).toBeCloseTo(2 / 3, 12);
  });

  it("hashes the evaluation set as lmprobe does", () => {
    // python: "sha256:" + sha256("\n".join(sorted(["b", "a"] + ["1", "0"])).encode()).hexdigest()
    expect(evalHash(["b", "a"], [1, 0])).toBe(
      "sha256:33ce3fc938a091fc54eb460cd1d28bde619257414e988d7e45c79b4299040c12",
    );
  });
});

describe("multiclass and regression metrics (values from scikit-learn 1.9)", () => {
  const y = [0, 1, 2, 2, 1, 0, 2, 1];
  const p = [0, 2, 2, 1, 1, 0, 2, 0];
  const proba = [
    [0.7, 0.2, 0.1],
    [0.1, 0.3, 0.6],
    [0.2, 0.2, 0.6],
    [0.1, 0.5, 0.4],
    [0.2, 0.6, 0.2],
    [0.8, 0.1, 0.1],
    [0.1, 0.1, 0.8],
    [0.5, 0.4, 0.1],
  ];

  it("macro precision, recall, F1 and one-vs-rest AUROC", () => {
    const m = macroPrecisionRecallF1(y, p, [0, 1, 2]);
    expect(m.f1).toBeCloseTo(0.6222222222222222, 14);
    expect(m.precision).toBeCloseTo(0.611111111111111, 14);
    expect(m.recall).toBeCloseTo(0.6666666666666666, 14);
    expect(ovrRocAuc(y, proba, [0, 1, 2])).toBeCloseTo(0.9222222222222222, 14);
  });

  it("R², MSE and MAE", () => {
    const t = [1.5, 2, -1, 0.25, 3];
    const v = [1.4, 2.2, -0.5, 0, 2.5];
    expect(r2Score(t, v)).toBeCloseTo(0.9368556701030928, 14);
    expect(regressionErrors(t, v)).toEqual({ mse: expect.closeTo(0.1225, 14), mae: expect.closeTo(0.31, 14) });
  });
});
