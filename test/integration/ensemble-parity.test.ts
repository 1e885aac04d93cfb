/**
 * ProbeEnsemble against lmprobe 0.10.3's (the oracle runs in this test on the same data): soft and
 * hard voting, weights, fromConfigs, bootstrap (plain, and with sample weights and groups), and
 * predictionStd; scipy's mode for hard voting's tie rule; save/load.
 *
 * Bounds: each member sees bit-identical activations and (bootstrap) the same resampled rows —
 * asserted through bit-identical coefficients — so the members' labels are equal and their
 * probabilities are within the float32 evaluation bound of parity-matrix point 2 (computed per
 * member from the oracle's S and D). A weighted average of values each within a bound stays within
 * the largest bound; so does a population std (|Δstd| <= max |Δp| by the triangle inequality).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, ProbeEnsemble, PythonRuntime, type ProbeOptions } from "../../src/index.js";
import { hardVote } from "../../src/ensemble/voting.js";
import {
  LABELLED,
  NEGATIVE,
  POSITIVE,
  TEST_LABELS,
  TESTS,
  evaluationBound,
  maxDiff,
  runOracle,
  type OracleResult,
} from "../helpers/baseline-oracle.js";

const models = inject("tinyModels");
const python = inject("python");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());

type Family = "llama" | "gpt2" | "gpt_neox";
type Options = Omit<ProbeOptions, "model">;
interface Case {
  name: string;
  family: Family;
  voting: "soft" | "hard";
  shared: Options;
  configs?: Options[];
  bootstrap?: { nResamples: number; randomState: number };
  weights?: number[];
  labelled?: boolean;
  sampleWeight?: number[];
  groups?: number[];
}
const WEIGHTS = LABELLED.prompts.map((_, i) => 0.5 + (i % 3) * 0.5);
const GROUPS = LABELLED.prompts.map((_, i) => i % 3);
const cases: Case[] = [
  {
    name: "soft fromConfigs gpt2 (layers 0 / 2, lda)",
    family: "gpt2",
    voting: "soft",
    shared: { randomState: 0, batchSize: 4 },
    configs: [{ layers: 0 }, { layers: 2 }, { layers: 1, classifier: "lda" }],
  },
  {
    name: "soft weighted [3, 1] gpt_neox",
    family: "gpt_neox",
    voting: "soft",
    shared: { randomState: 0 },
    configs: [{ layers: 0 }, { layers: 1, pooling: "mean" }],
    weights: [3, 1],
  },
  {
    name: "hard fromConfigs llama (ridge has no probabilities)",
    family: "llama",
    voting: "hard",
    shared: { randomState: 0, batchSize: 4 },
    configs: [{ layers: -1 }, { layers: 1, classifier: "ridge" }, { layers: 2, classifier: "sgd" }],
  },
  {
    name: "bootstrap soft gpt2, 5 resamples",
    family: "gpt2",
    voting: "soft",
    shared: { layers: 1, randomState: 0 },
    bootstrap: { nResamples: 5, randomState: 7 },
    labelled: true,
  },
  {
    name: "bootstrap hard llama, sample weights and groups",
    family: "llama",
    voting: "hard",
    shared: { layers: -1, randomState: 0, batchSize: 4 },
    bootstrap: { nResamples: 4, randomState: 3 },
    labelled: true,
    sampleWeight: WEIGHTS,
    groups: GROUPS,
  },
];
/** Crafted votes (members × samples) with ties: lmprobe's hard voting is scipy.stats.mode. */
const VOTES = [
  [0, 1, 2, 1, 0, 2],
  [1, 0, 2, 2, 0, 1],
  [1, 0, 0, 2, 1, 0],
  [0, 1, 0, 1, 1, 2],
];

const HEAVY = [
  [5, 1, 1],
  [1, 5, 1],
  [1, 1, 5],
];

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const py = (o: Options) => Object.fromEntries(Object.entries(o).map(([k, v]) => [snake(k), v]));
function job(c: Case): Record<string, unknown> {
  return {
    kind: "ensemble",
    model: models[c.family].path,
    voting: c.voting,
    shared: py(c.shared),
    ...(c.configs ? { configs: c.configs.map(py) } : {}),
    ...(c.bootstrap
      ? { bootstrap: { n_resamples: c.bootstrap.nResamples, random_state: c.bootstrap.randomState } }
      : {}),
    ...(c.weights ? { weights: c.weights } : {}),
    ...(c.labelled ? LABELLED : { positive: POSITIVE, negative: NEGATIVE }),
    ...(c.sampleWeight ? { sample_weight: c.sampleWeight } : {}),
    ...(c.groups ? { groups: c.groups } : {}),
    test_prompts: TESTS,
    test_labels: TEST_LABELS,
  };
}

function build(c: Case): ProbeEnsemble {
  const shared = { ...c.shared, runtime, groupByLength: false, cacheDir: mkdtempSync(join(tmpdir(), "ens-")) };
  const ens = { voting: c.voting, ...(c.weights ? { weights: c.weights } : {}) };
  if (c.bootstrap)
    return ProbeEnsemble.bootstrap(new Probe({ ...shared, model: models[c.family].path }), { ...ens, ...c.bootstrap });
  return ProbeEnsemble.fromConfigs(models[c.family].path, c.configs!, { ...shared, ...ens });
}

interface Member {
  predict: number[];
  coef: number[][] | number[] | null;
  proba?: number[][];
  eval_scale?: { S: number; D: number } | null;
}
type Expected = OracleResult & {
  predict: number[];
  classes: number[];
  members: Member[];
  proba?: number[][];
  std?: number[];
  score: number;
};

let oracle: Promise<OracleResult[]>;
beforeAll(() => {
  oracle = runOracle(python, [
    ...cases.map(job),
    { kind: "mode", votes: VOTES },
    // hard voting with one heavy member (5 of 7), each member in turn
    ...HEAVY.map((weights) => ({ ...job(cases[2]!), weights })),
  ]);
  oracle.catch(() => undefined);
});
const ORACLE_WAIT_MS = 600_000;

describe("ProbeEnsemble: parity with lmprobe 0.10.3", () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))(
    "%s",
    async (_name, c, index) => {
      const ens = build(c);
      const fitOptions = {
        ...(c.sampleWeight ? { sampleWeight: c.sampleWeight } : {}),
        ...(c.groups ? { groups: c.groups } : {}),
      };
      if (c.labelled) await ens.fit(LABELLED.prompts, LABELLED.labels, fitOptions);
      else await ens.fit(POSITIVE, NEGATIVE, fitOptions);
      // One warm-up extraction of the union of the members' layers: every member fit from the cache.
      for (const probe of ens.probes) expect(probe.lastProfile?.extraction?.tokens).toBe(0);
      const expected = (await oracle)[index] as Expected;
      expect(expected.error).toBeUndefined();
      expect(ens.probes).toHaveLength(expected.members.length);
      // Same rows and activations per member: coefficients bit-identical.
      let compared = 0;
      for (const [m, probe] of ens.probes.entries()) {
        const theirs = expected.members[m]!;
        expect(await probe.predict(TESTS)).toEqual(theirs.predict);
        const model = probe.fittedState.model;
        if (theirs.coef && model.kind === "linear") {
          const flat = (theirs.coef as number[][]).flat();
          expect(maxDiff([...model.coef], flat)).toBe(0);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(0);
      expect(await ens.predict(TESTS)).toEqual(expected.predict);
      expect(await ens.score(TESTS, TEST_LABELS)).toBe(expected.score);
      if (expected.proba) {
        const bars = expected.members.map((m) => evaluationBound(m.eval_scale!));
        const bar = Math.max(...bars);
        expect(bar).toBeLessThan(1e-2); // never vacuous
        const proba = maxDiff(await ens.predictProba(TESTS), expected.proba);
        const std = maxDiff(await ens.predictionStd(TESTS), expected.std);
        console.info(
          `ensemble ${c.name}: max |Δproba| ${proba.toExponential(2)}, |Δstd| ${std.toExponential(2)}, ` +
            `bound ${bar.toExponential(2)}`,
        );
        expect(proba).toBeLessThan(bar);
        expect(std).toBeLessThan(bar);
      } else {
        await expect(ens.predictProba(TESTS)).rejects.toMatchObject({ code: "NOT_SUPPORTED" });
      }
      await ens.close();
    },
    ORACLE_WAIT_MS,
  );

  it(
    "hard voting breaks ties like scipy.stats.mode (the smallest label)",
    async () => {
      const expected = (await oracle)[cases.length]!;
      expect(expected.error).toBeUndefined();
      expect(hardVote(VOTES, [0.25, 0.25, 0.25, 0.25])).toEqual(expected.mode);
    },
    ORACLE_WAIT_MS,
  );

  it(
    "deliberate difference: unequal weights weigh hard votes (lmprobe ignores them)",
    async () => {
      const results = (await oracle).slice(cases.length + 1) as Expected[];
      const members = results[0]!.members.map((m) => m.predict);
      const majority = hardVote(members, [1, 1, 1]);
      // A member that the majority outvotes somewhere: only there can the two rules differ.
      const heavy = members.findIndex((p) => p.some((label, i) => label !== majority[i]));
      expect(heavy).toBeGreaterThanOrEqual(0);
      for (const r of results) {
        expect(r.error).toBeUndefined();
        expect(r.predict).toEqual(majority); // lmprobe: the plain majority whatever the weights
      }
      const ens = build({ ...cases[2]!, weights: HEAVY[heavy]! });
      await ens.fit(POSITIVE, NEGATIVE);
      expect(await ens.predict(TESTS)).toEqual(members[heavy]); // ours: 5/7 of the vote decides
      expect(members[heavy]).not.toEqual(majority);
      await ens.close();
    },
    ORACLE_WAIT_MS,
  );

  it("save/load round-trips a bootstrap ensemble exactly (no pickle)", async () => {
    const c = cases[3]!;
    const ens = build(c);
    await ens.fit(LABELLED.prompts, LABELLED.labels);
    const dir = join(mkdtempSync(join(tmpdir(), "ens-save-")), "ensemble");
    await ens.save(dir);
    const again = await ProbeEnsemble.load(dir, { runtime });
    expect(again.voting).toBe("soft");
    expect(again.provenance).toEqual({ bootstrap: true, seed: 7 });
    expect(again.weights).toEqual(ens.weights);
    expect(await again.predictProba(TESTS)).toEqual(await ens.predictProba(TESTS));
    expect(await again.predictionStd(TESTS)).toEqual(await ens.predictionStd(TESTS));
    await again.close();
    await ens.close();
  });
});
