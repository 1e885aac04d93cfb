import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/index.js";
import { planLayers, resolveAutoCandidates, resolveLayers } from "../../src/extraction/layers.js";

describe("resolveLayers (lmprobe's meaning of each spec)", () => {
  it.each([
    ["middle", 32, Array.from({ length: 12 }, (_, i) => 10 + i)],
    ["middle", 30, Array.from({ length: 10 }, (_, i) => 10 + i)],
    ["middle", 4, [1, 2]],
    ["last", 30, [29]],
    ["all", 3, [0, 1, 2]],
    [-1, 30, [29]],
    [[5, -1, 5, 0], 30, [0, 5, 29]],
  ] as const)("%j on %d layers", (spec, n, expected) => {
    expect(resolveLayers(spec as never, n, "m")).toEqual(expected);
  });

  it.each([30, -31, [0, 40]])("rejects %j on 30 layers naming the valid range", (spec) => {
    expect(() => resolveLayers(spec as never, 30, "m")).toThrow(InvalidOptionError);
    expect(() => resolveLayers(spec as never, 30, "m")).toThrow("-30..29");
  });
});

describe("planLayers: auto candidates and sweeps", () => {
  it.each([
    [undefined, 32, [7, 15, 23]], // lmprobe's docstring example
    [[0.33, 0.66], 32, [10, 20]],
    [[10, 16, 22], 32, [10, 16, 22]],
    [[-8, -4, -1], 32, [24, 28, 31]],
    [[0.5, 0.5, 0.51], 4, [1]],
  ] as const)("auto candidates %j on %d layers", (candidates, n, expected) => {
    expect(resolveAutoCandidates(candidates as never, n, "m")).toEqual(expected);
  });

  it("plans sweeps as lmprobe: every N-th layer, or an inclusive range cut to the model", () => {
    expect(planLayers("sweep", 4, "m")).toEqual({ mode: "sweep", layers: [0, 1, 2, 3] });
    expect(planLayers("sweep:2", 5, "m")).toEqual({ mode: "sweep", layers: [0, 2, 4] });
    expect(planLayers("sweep:2-9", 5, "m")).toEqual({ mode: "sweep", layers: [2, 3, 4] });
    expect(planLayers("fast_auto", 4, "m")).toEqual({ mode: "fast_auto", candidates: [0, 1, 2] });
  });

  it("rejects auto with one candidate and sweeps that select nothing", () => {
    expect(() => planLayers("auto", 4, "m", [0.5, 0.51])).toThrow("at least two");
    expect(() => planLayers("sweep:7-9", 4, "m")).toThrow("selects no layer");
    expect(() => resolveAutoCandidates([0.5, 3], 8, "m")).toThrow("mixes fractions");
  });
});
