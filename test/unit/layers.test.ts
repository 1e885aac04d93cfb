import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/index.js";
import { resolveLayers } from "../../src/probe/layers.js";

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
