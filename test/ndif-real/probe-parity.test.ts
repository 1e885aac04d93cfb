/**
 * Remote probes on the real NDIF server (PyPI ndif 0.1.2 on loopback, started by
 * test/ndif-real/harness) equal local probes: same labels, probabilities within what the float16
 * transfer allows, for every pooling including full sequences, on the three tiny model families.
 * Also the real job sequence (a model's first job waits for its deployment), the preflight
 * against the real /env, and a cached rerun that submits nothing. Public API only: a Probe with
 * backend "nnsight" and remote: { host }, NDIF_API_KEY in the runtime's env.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime, type ProbeOptions, type ProgressEvent } from "../../src/index.js";
import { CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";
import { startCountingProxy, type CountingProxy } from "./harness/counting-proxy.js";

const models = inject("tinyModels");
const { host: server } = inject("ndifReal");
// Without its Postgres NDIF accepts any key; the SDK still requires one to be set.
const runtime = new PythonRuntime({ env: { NDIF_API_KEY: "ndif-real-tier-any-key" } });
let proxy: CountingProxy;

beforeAll(async () => {
  proxy = await startCountingProxy(server);
});
afterAll(async () => {
  await runtime.close();
  await proxy?.close();
});

// a stuck job fails its test with RemoteTimeoutError (naming the job and its last status) instead of hanging
const JOB_DEADLINE_MS = 180_000;
const tmp = () => mkdtempSync(join(tmpdir(), "ndif-real-cache-"));
type Remote = { status: string; jobId?: string; message?: string };
const remoteEvents = (events: ProgressEvent[]) => events.filter((e) => e.type === "remote") as unknown as Remote[];
// nnsight 0.8.1's job statuses, the real server's sequence, and the SDK's own three
const KNOWN = [
  "RECEIVED",
  "PROVISIONING",
  "DEPLOYING",
  "QUEUED",
  "DISPATCHED",
  "RUNNING",
  "COMPLETED",
  "ERROR",
  "LOG",
  "PREFLIGHT",
  "RETRYING",
  "REATTACHED",
];

/** A remote and a local probe with the same options, both fitted; plus the remote fit's events. */
async function fittedPair(options: Partial<ProbeOptions>, rt = runtime) {
  const common = { layers: "all" as const, randomState: 0, batchSize: 4, runtime: rt, ...options } as ProbeOptions;
  const events: ProgressEvent[] = [];
  const remote = new Probe({
    ...common,
    backend: "nnsight",
    remote: { host: proxy.host, pollIntervalMs: 50, timeoutMs: JOB_DEADLINE_MS },
    cacheDir: tmp(),
  });
  const local = new Probe({ ...common, cacheDir: tmp() });
  await remote.fit(CATS, DOGS, { onProgress: (e) => events.push(e) });
  await local.fit(CATS, DOGS);
  return { remote, local, events };
}

/** Labels identical; the largest |Δ| of the probabilities, for the caller to bound and report. */
async function compare(remote: Probe, local: Probe): Promise<number> {
  expect(await remote.predict(TEST_PROMPTS)).toEqual(await local.predict(TEST_PROMPTS));
  // nested for inferencePooling "all" (one row per token): compare the flattened values
  const a = ((await remote.predictProba(TEST_PROMPTS)) as unknown[]).flat(3) as number[];
  const b = ((await local.predictProba(TEST_PROMPTS)) as unknown[]).flat(3) as number[];
  expect(a.length).toBe(b.length);
  expect(a.every(Number.isFinite)).toBe(true);
  return Math.max(...a.map((p, i) => Math.abs(p - b[i]!)));
}

// float16 keeps 11 significant bits (relative error <= 4.9e-4 per activation); through a
// standardized logistic regression on the tiny models that moves probabilities by far less than this.
const PROBA_BOUND = 5e-3;

/** NDIF jobs for n prompts: one per chunk of 64+ (a session of its batches' traces; a short tail rides along). */
const ndifJobs = (n: number) => Math.max(1, Math.floor(n / 64));

describe("real NDIF server", () => {
  it(
    "real NDIF: a model's first job goes RECEIVED → deployment → " +
      "COMPLETED, and the remote probe equals the local one",
    async () => {
      const { remote, local, events } = await fittedPair({ model: models.llama.path, pooling: "mean" });
      const statuses = remoteEvents(events).map((e) => e.status);
      const seen = statuses.filter((s, i) => s !== statuses[i - 1]);
      console.info(`real NDIF llama first fit, statuses: ${seen.join(" → ")}`);
      for (const s of statuses) expect(KNOWN).toContain(s);
      // a PREFLIGHT warning may come first (the server's transformers differs): then the job's statuses
      expect(statuses.find((s) => s !== "PREFLIGHT")).toBe("RECEIVED");
      // the llama deployment did not exist before this fit: its jobs waited for it
      const deploy = statuses.findIndex((s) => s === "PROVISIONING" || s === "DEPLOYING");
      expect(deploy).toBeGreaterThan(0);
      expect(statuses.lastIndexOf("COMPLETED")).toBeGreaterThan(deploy);
      const jobs = ndifJobs(CATS.length + DOGS.length);
      expect(statuses.filter((s) => s === "COMPLETED")).toHaveLength(jobs);
      expect(
        new Set(
          remoteEvents(events)
            .map((e) => e.jobId)
            .filter(Boolean),
        ).size,
      ).toBe(jobs);
      const worst = await compare(remote, local);
      console.info(`real NDIF llama mean: max |Δp| remote vs local ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(PROBA_BOUND);
    },
  );

  it(
    "real NDIF: every pooling, full sequences included (trainPooling " +
      "all, score-stage max), equals the local probe",
    async () => {
      const cases: Partial<ProbeOptions>[] = [
        { pooling: "last_token" },
        { pooling: "first_token" },
        { pooling: "all" }, // trains and predicts on every token: full sequences over the wire
        { pooling: "mean", inferencePooling: "max" }, // per-token scores: full sequences at inference
      ];
      for (const c of cases) {
        const { remote, local } = await fittedPair({ model: models.llama.path, layers: [1, 3], ...c });
        const worst = await compare(remote, local);
        console.info(`real NDIF llama ${JSON.stringify(c)}: max |Δp| ${worst.toExponential(2)}`);
        expect(worst).toBeLessThan(PROBA_BOUND);
      }
    },
  );

  it("real NDIF: right-padded families (gpt2, gpt_neox) equal their local probes", async () => {
    for (const family of ["gpt2", "gpt_neox"] as const) {
      const { remote, local, events } = await fittedPair({ model: models[family].path, pooling: "last_token" });
      expect(remoteEvents(events).some((e) => e.status === "COMPLETED")).toBe(true);
      const worst = await compare(remote, local);
      console.info(`real NDIF ${family} last_token: max |Δp| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(PROBA_BOUND);
    }
  });

  it(
    "real NDIF: 160 prompts go as 2 session jobs (64, then 96 with the short tail), " +
      "progress stays a running total, and the probe equals the local one",
    async () => {
      const many = (list: string[]) => Array.from({ length: 80 }, (_, i) => `${i}: ${list[i % list.length]}`);
      const [cats, dogs] = [many(CATS), many(DOGS)];
      const common = {
        model: models.llama.path,
        layers: [1, 3],
        pooling: "mean",
        randomState: 0,
        batchSize: 8,
        runtime,
      };
      const remote = new Probe({
        ...common,
        backend: "nnsight",
        remote: { host: proxy.host, pollIntervalMs: 50, timeoutMs: JOB_DEADLINE_MS },
        cacheDir: tmp(),
      } as ProbeOptions);
      const local = new Probe({ ...common, cacheDir: tmp() } as ProbeOptions);
      const before = proxy.submitted();
      const events: ProgressEvent[] = [];
      await remote.fit(cats, dogs, { onProgress: (e) => events.push(e) });
      expect(proxy.submitted() - before).toBe(2);
      // progress stays a running total while chunks complete side by side
      const done = events.filter((e) => e.type === "extract").map((e) => (e as { completed: number }).completed);
      expect(done.every((c, i) => i === 0 || c >= done[i - 1]!)).toBe(true);
      expect(done.at(-1)).toBe(160);
      await local.fit(cats, dogs);
      const worst = await compare(remote, local);
      console.info(`real NDIF llama 160 prompts, 2 jobs: max |Δp| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(PROBA_BOUND);
    },
  );

  it("real NDIF: a rerun with the same cache submits no job", async () => {
    const cacheDir = tmp();
    const opts: ProbeOptions = {
      model: models.llama.path,
      layers: [0, 2],
      pooling: "mean",
      randomState: 0,
      batchSize: 4,
      runtime,
      backend: "nnsight",
      remote: { host: proxy.host, pollIntervalMs: 50, timeoutMs: JOB_DEADLINE_MS },
      cacheDir,
    };
    const first = proxy.submitted();
    await new Probe(opts).fit(CATS, DOGS);
    expect(proxy.submitted() - first).toBe(ndifJobs(CATS.length + DOGS.length));
    const before = proxy.submitted();
    const events: ProgressEvent[] = [];
    const again = new Probe(opts);
    await again.fit(CATS, DOGS, { onProgress: (e) => events.push(e) });
    expect(proxy.submitted()).toBe(before); // everything came from the activation cache
    expect(remoteEvents(events)).toEqual([]);
    expect((await again.predict(TEST_PROMPTS)).length).toBe(TEST_PROMPTS.length);
  });

  it(
    "real NDIF: the preflight reads the real /env and reports the " + "server's versions (transformers as information)",
    async () => {
      // a worker of its own: the preflight runs once per host and worker
      const fresh = new PythonRuntime({ env: { NDIF_API_KEY: "ndif-real-tier-any-key" } });
      try {
        const env = (await (await fetch(`${server}/env`)).json()) as {
          python_version: string;
          packages: Record<string, string>;
        };
        const { events } = await fittedPair({ model: models.gpt2.path, pooling: "mean", layers: [1] }, fresh);
        const warnings = remoteEvents(events)
          .filter((e) => e.status === "PREFLIGHT")
          .map((e) => e.message ?? "");
        console.info(`real NDIF preflight: ${warnings.join(" | ") || "(no warning)"}`);
        // the server runs transformers 5.17 (see test/ndif-real/server/requirements.txt), the worker its own
        const theirs = env.packages.transformers!;
        const ours = (
          await execa(inject("python"), ["-c", "import transformers; print(transformers.__version__)"])
        ).stdout.trim();
        const tf = warnings.find((w) => w.includes("NDIF has transformers"));
        if (theirs === ours) {
          expect(tf).toBeUndefined();
        } else {
          expect(tf, `no transformers warning among: ${warnings.join(" | ")}`).toContain(
            `NDIF has transformers ${theirs}, the worker ${ours}`,
          );
          // the model runs with the server's transformers: information, not a fix to apply
          expect(tf).toContain("informational");
          expect(tf).not.toContain("Fix:");
        }
        // same nnsight (0.8.1) and Python minor on both sides: no warning about those
        expect(env.packages.nnsight).toBe("0.8.1");
        expect(warnings.some((w) => w.includes("NDIF has nnsight"))).toBe(false);
        expect(warnings.some((w) => w.includes("NDIF runs Python"))).toBe(false);
      } finally {
        await fresh.close();
      }
    },
  );
});
