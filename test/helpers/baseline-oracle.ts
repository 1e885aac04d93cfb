/**
 * Shared pieces of the baseline/ensemble parity tests: the data, the oracle process
 * (test/fixtures/lmprobe_baselines_oracle.py, lmprobe 0.10.3) and the float32 evaluation bound of
 * test/integration/parity-matrix.test.ts (point 2 there).
 */
import { join } from "node:path";
import { execa } from "execa";
import { CATS, DOGS, TEST_PROMPTS } from "./prompts.js";

export const POSITIVE = CATS;
export const NEGATIVE = DOGS;
/** Test prompts that share words with both classes, so the text baselines do not all score 1. */
export const TESTS = [
  ...TEST_PROMPTS,
  "A cat and a dog played.",
  "The mat is warm.",
  "The dog sat on the mat.",
  "My cat barked at the mailman.",
  "Our dog sleeps all day.",
  "Birds fly south.",
];
export const TEST_LABELS = [1, 0, 1, 0, 1, 0, 0, 1, 0, 1];
export const LABELLED = {
  prompts: [...POSITIVE, ...NEGATIVE],
  labels: [...POSITIVE.map(() => 1), ...NEGATIVE.map(() => 0)],
};

/** A result of the oracle for one job. */
export type OracleResult = Record<string, unknown> & { error?: string };

/** Runs the oracle on `jobs` (one process: lmprobe's import is slow). */
export async function runOracle(python: string, jobs: unknown[]): Promise<OracleResult[]> {
  const script = join(import.meta.dirname, "..", "fixtures", "lmprobe_baselines_oracle.py");
  const r = await execa(python, [script], { input: JSON.stringify(jobs) });
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as OracleResult[];
}

const U = 2 ** -24; // float32 unit roundoff
const gamma = (n: number) => (n * U) / (1 - n * U);
/** The float32 evaluation bound of a linear model from the oracle's D and S (parity-matrix point 2). */
export function evaluationBound({ S, D }: { S: number; D: number }): number {
  return (gamma(D + 1) + 4 * U) * S + 16 * U;
}

/** Largest absolute difference of two nested number arrays (lengths must match). */
export function maxDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
    return a.reduce((m: number, v, i) => Math.max(m, maxDiff(v, b[i])), 0);
  }
  return Math.abs((a as number) - (b as number));
}
