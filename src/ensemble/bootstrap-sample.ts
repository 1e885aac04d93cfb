/**
 * lmprobe 0.10.3's bootstrap resampling (`ProbeEnsemble._fit_bootstrap`): one
 * `np.random.default_rng(random_state)` for all members, in member order; each member draws n
 * rows with replacement (or `ceil(n / groups)` per group, weighted by `sample_weight` within its
 * group), retrying up to 100 times until every class is present (the 100th draw is kept either way).
 */
import { InvalidInputError } from "../errors.js";
import { NumpyGenerator } from "./numpy-random.js";

/** Group labels of the training rows: numbers or strings (sorted like `np.unique`). */
export type Groups = readonly number[] | readonly string[];

const ATTEMPTS = 100;

/** `np.unique`: sorted distinct values (numbers numerically, strings by code point). */
function unique<T extends number | string>(values: readonly T[]): T[] {
  const out = [...new Set(values)];
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Checks `groups`: one number or string per training row, all of one type. */
export function checkGroups(groups: unknown, count: number): Groups | undefined {
  if (groups === undefined || groups === null) return undefined;
  const bad = (why: string) => new InvalidInputError("groups", `groups ${why}`);
  if (!Array.isArray(groups)) throw bad("must be an array of numbers or strings.");
  if (groups.length !== count) throw bad(`has ${groups.length} values for ${count} training samples.`);
  const numeric = groups.every((g) => typeof g === "number" && Number.isFinite(g));
  if (!numeric && !groups.every((g) => typeof g === "string")) throw bad("must be all finite numbers or all strings.");
  return groups as Groups;
}

/** Rows drawn for one member under group balancing: `ceil(n / groups)` per group. */
function groupBalanced(rng: NumpyGenerator, groups: Groups, weights: readonly number[] | undefined): number[] {
  const values = groups as readonly (number | string)[];
  const distinct = unique(values);
  const perGroup = Math.ceil(values.length / distinct.length);
  const out: number[] = [];
  for (const g of distinct) {
    const rows = values.flatMap((v, i) => (v === g ? [i] : []));
    let p: number[] | undefined;
    if (weights) {
      const w = rows.map((i) => weights[i]!);
      const total = w.reduce((a, b) => a + b, 0);
      if (!(total > 0))
        throw new InvalidInputError(
          "sampleWeight",
          `group ${String(g)} has only zero sample weights: it cannot be drawn.`,
        );
      p = w.map((v) => v / total);
    }
    out.push(...rng.choice(rows, perGroup, p));
  }
  return out;
}

/**
 * The training rows of each of `members` bootstrap members, as lmprobe draws them.
 * @param seed `random_state`; undefined/null draws a fresh seed (like `default_rng(None)`).
 */
export function bootstrapRows(
  labels: readonly number[],
  members: number,
  seed: number | null | undefined,
  groups?: Groups,
  weights?: readonly number[],
): number[][] {
  const rng = new NumpyGenerator(seed ?? Math.floor(Math.random() * 2 ** 52));
  const classes = new Set(labels).size;
  const all: number[][] = [];
  for (let m = 0; m < members; m++) {
    let rows: number[] = [];
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      rows = groups ? groupBalanced(rng, groups, weights) : rng.integers(labels.length, labels.length);
      if (new Set(rows.map((i) => labels[i])).size === classes) break;
    }
    all.push(rows);
  }
  return all;
}
