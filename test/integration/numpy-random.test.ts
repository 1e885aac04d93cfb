/**
 * Our port of numpy's default_rng (SeedSequence + PCG64, Lemire's bounded integers, random(),
 * weighted choice) draws the same numbers as numpy itself, run here on the same seeds: seeds of
 * one and several 32-bit words, ranges that reject often (just above 2^31), and a mix of 32- and
 * 64-bit draws (PCG64's buffered half-word).
 */
import { execa } from "execa";
import { expect, inject, it } from "vitest";
import { NumpyGenerator } from "../../src/ensemble/numpy-random.js";

const python = inject("python");
const SEEDS = [0, 1, 7, 42, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER];
const RANGES = [1, 2, 20, 1000, 2 ** 31 + 1, 2 ** 32 - 1];
const P = [0.1, 0.0, 0.25, 0.65];

const SCRIPT = `
import json, sys
import numpy as np
seeds, ranges, p = json.load(sys.stdin)
out = []
for seed in seeds:
    g = np.random.default_rng(seed)
    row = {"ints": [g.integers(0, n, size=7).tolist() for n in ranges], "u": g.random(3).tolist()}
    row["choice"] = g.choice(np.array([10, 11, 12, 13]), size=9, replace=True, p=np.array(p)).tolist()
    row["odd"] = g.integers(0, 5, size=1).tolist() + g.random(1).tolist() + g.integers(0, 5, size=2).tolist()
    out.append(row)
print(json.dumps(out))
`;

it("draws what numpy's default_rng draws", async () => {
  const r = await execa(python, ["-c", SCRIPT], { input: JSON.stringify([SEEDS, RANGES, P]) });
  const expected = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  const ours = SEEDS.map((seed) => {
    const g = new NumpyGenerator(seed);
    const row: Record<string, unknown> = {
      ints: RANGES.map((n) => g.integers(n, 7)),
      u: [g.random(), g.random(), g.random()],
    };
    row.choice = g.choice([10, 11, 12, 13], 9, P);
    row.odd = [...g.integers(5, 1), g.random(), ...g.integers(5, 2)];
    return row;
  });
  expect(ours).toEqual(expected);
});
