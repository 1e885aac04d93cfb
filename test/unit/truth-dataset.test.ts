import { describe, expect, it } from "vitest";
import { truthStatements } from "../../src/demo/truth-dataset.js";

describe("demo data set", () => {
  it("is balanced, distinct and the same for the same seed", () => {
    const a = truthStatements(300, 0);
    expect(a).toHaveLength(300);
    expect(a.filter((s) => s.label === 1)).toHaveLength(150);
    expect(truthStatements(300, 0)).toEqual(a);
    expect(truthStatements(300, 1)).not.toEqual(a);
    expect(new Set(a.map((s) => s.text)).size).toBe(300); // no statement twice: held-out stays unseen
  });
});
