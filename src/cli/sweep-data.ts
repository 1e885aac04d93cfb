/**
 * The data of `lmprobe sweep`: the training set (`--data`, or `--positive`/`--negative`) and the
 * test set (`--test`, or a seeded stratified `--split` of the training set).
 */
import { InvalidOptionError } from "../errors.js";
import { readPromptFile } from "./data-file.js";
import { mulberry32 } from "../internal/mulberry32.js";

/** Prompts and their class labels. */
export interface LabelledSet {
  prompts: string[];
  labels: number[];
}

/** Where a sweep's data came from, as results.json records it. */
export interface DataSources {
  data?: string;
  positive?: string;
  negative?: string;
  test?: string;
  /** Fraction of the training data held out (`--split`), when there is no `--test` file. */
  split?: number;
}

/**
 * Holds out `fraction` of each class (at least one prompt of a class with two or more), chosen by
 * a seeded shuffle: stratified, so the test set has every class and AUROC is defined.
 */
export function stratifiedSplit(
  all: LabelledSet,
  fraction: number,
  seed: number,
): { train: LabelledSet; test: LabelledSet } {
  const random = mulberry32(seed);
  const held = new Set<number>();
  for (const cls of [...new Set(all.labels)].sort((a, b) => a - b)) {
    const members = all.labels.flatMap((l, i) => (l === cls ? [i] : []));
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    const take =
      members.length < 2 ? 0 : Math.min(members.length - 1, Math.max(1, Math.round(fraction * members.length)));
    for (const i of members.slice(0, take)) held.add(i);
  }
  const pick = (keep: (i: number) => boolean): LabelledSet => {
    const idx = all.prompts.flatMap((_, i) => (keep(i) ? [i] : []));
    return { prompts: idx.map((i) => all.prompts[i]!), labels: idx.map((i) => all.labels[i]!) };
  };
  return { train: pick((i) => !held.has(i)), test: pick((i) => held.has(i)) };
}

/** The `--split` fraction: a number strictly between 0 and 1. */
export function splitOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\s*(0?\.\d+|0|1)\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0 && n < 1)) {
    throw new InvalidOptionError(
      "--split",
      `--split must be a fraction between 0 and 1 (e.g. 0.2), got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

/** Reads the training and test sets the sources name (files are read before any worker starts). */
export function loadSweepData(sources: DataSources, seed: number): { train: LabelledSet; test: LabelledSet } {
  const check = { requireLabels: true, integerLabels: true };
  let all: LabelledSet;
  if (sources.data) {
    const file = readPromptFile(sources.data, "--data", check);
    all = { prompts: file.prompts, labels: file.labels! };
  } else {
    const positive = readPromptFile(sources.positive!, "--positive").prompts;
    const negative = readPromptFile(sources.negative!, "--negative").prompts;
    all = { prompts: [...positive, ...negative], labels: [...positive.map(() => 1), ...negative.map(() => 0)] };
  }
  if (sources.test) {
    const file = readPromptFile(sources.test, "--test", check);
    return { train: all, test: { prompts: file.prompts, labels: file.labels! } };
  }
  return stratifiedSplit(all, sources.split ?? 0.2, seed);
}
