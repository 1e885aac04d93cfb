import { describe, expect, it } from "vitest";
import { accuracy, evalHash, precisionRecallF1, rocAuc } from "../../src/probe/metrics.js";

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
    expect(evalHash(["b", "a"], [1, 0])).toBe("sha256:33ce3fc938a091fc54eb460cd1d28bde619257414e988d7e45c79b4299040c12");
  });
});
