/**
 * NDIF remote execution against a loopback stand-in (test/fixtures/ndif_standin.py) that speaks
 * the HTTP protocol nnsight 0.8.1's RemoteBackend uses in non-blocking mode (POST /request,
 * GET /response/{id}, result download, GET /env) and runs the received traces on the tiny
 * models. The stand-in is reached through the `host` setting / NDIF_HOST, exactly as the real
 * service would be. Nothing here talks to the real NDIF.
 *
 * What the real NDIF server can express runs against it instead (test/ndif-real: probes equal to
 * local ones for every pooling, server-side failures, deadlines, aborts, resuming, preflight, the
 * cached rerun). What stays here is what it cannot be made to do; each test name says why.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime, RemoteError, type ProgressEvent } from "../../src/index.js";
import type { Tensor } from "../../src/protocol/codec.js";
import { CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";
import { startStandIn, type StandIn } from "../helpers/ndif-standin.js";

const models = inject("tinyModels");
const python = inject("python");
const KEY = "test-ndif-key-7f3a";
let ndif: StandIn;
const runtime = new PythonRuntime({ env: { NDIF_API_KEY: KEY } });

// A hub id for the weightless test: the client's HF cache holds config and tokenizer only, the
// stand-in's (NDIF's side) the whole model.
const HUB_ID = "test-org/tiny-llama";
const SHA = "0123456789abcdef0123456789abcdef01234567";
const clientHub = mkdtempSync(join(tmpdir(), "ndif-client-hub-"));
const serverHub = mkdtempSync(join(tmpdir(), "ndif-server-hub-"));

function fakeHubCache(root: string, weights: boolean): void {
  const repo = join(root, `models--${HUB_ID.replace("/", "--")}`);
  const snap = join(repo, "snapshots", SHA);
  mkdirSync(snap, { recursive: true });
  mkdirSync(join(repo, "refs"), { recursive: true });
  writeFileSync(join(repo, "refs", "main"), SHA);
  for (const f of readdirSync(models.llama.path)) {
    if (weights || !/\.(safetensors|bin)$/.test(f)) copyFileSync(join(models.llama.path, f), join(snap, f));
  }
}

beforeAll(async () => {
  fakeHubCache(clientHub, false);
  fakeHubCache(serverHub, true);
  ndif = await startStandIn(python, KEY, { HF_HUB_CACHE: serverHub });
}, 120_000);
afterAll(async () => {
  await runtime.close();
  await ndif?.stop();
});

const prompts = [
  ...TEST_PROMPTS,
  "The cat sat on the mat.",
  "Hi",
  "A big dog barked at the mailman for a very long time today.",
];

function remoteBody(
  model: string,
  layers: number[],
  pooling: string,
  remote: Record<string, unknown>,
  jobsDir: string,
  list = prompts,
) {
  return {
    model,
    prompts: list,
    layers,
    pooling,
    batch_size: 3,
    group_by_length: false,
    backend: "nnsight",
    remote: {
      repo_id: model,
      host: ndif.host,
      poll_s: 0.05,
      backoff_s: 0.05,
      max_retries: 3,
      timeout_s: 60,
      jobs_file: join(jobsDir, "ndif-jobs.json"),
      transfer_dtype: "float16",
      ...remote,
    },
  };
}

function jobsRecorded(dir: string): Record<string, { job_id: string }> {
  const file = join(dir, "ndif-jobs.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, { job_id: string }>) : {};
}

describe("NDIF stand-in", () => {
  it(
    "NDIF stand-in (the real server cannot be made to fail transiently on demand): retry " +
      "then success (a 503 on submit, then a job removed from the queue)",
    async () => {
      for (const scenario of ["503_once", "transient_once"]) {
        const dir = mkdtempSync(join(tmpdir(), "ndif-"));
        await ndif.control({ scenario });
        const events: ProgressEvent[] = [];
        const r = await runtime.request(
          "extract",
          remoteBody(models.gpt2.path, [0, 2], "last_token", {}, dir, prompts.slice(0, 2)),
          { onProgress: (e) => events.push(e) },
        );
        expect((r.activations as Tensor).shape).toEqual([2, 2, 32]);
        const retrying = events.filter((e) => e.type === "remote" && e.status === "RETRYING");
        expect(retrying).toHaveLength(1);
        expect((retrying[0] as { message: string }).message).toMatch(
          scenario === "503_once" ? /Service Unavailable/ : /removed from queue/,
        );
        expect(events.some((e) => e.type === "remote" && e.status === "COMPLETED" && e.attempt === 1)).toBe(true);
      }
      // maxRetries: 0 turns the same transient failure into an error
      await ndif.control({ scenario: "503_once" });
      const err = await runtime
        .request(
          "extract",
          remoteBody(
            models.gpt2.path,
            [0],
            "mean",
            { max_retries: 0 },
            mkdtempSync(join(tmpdir(), "ndif-")),
            prompts.slice(0, 1),
          ),
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).code).toBe("REMOTE");
      expect((err as RemoteError).httpStatus).toBe(503);
    },
  );

  it(
    "NDIF stand-in (the real server's /env reports the nnsight it runs, the " +
      "worker's own): preflight reports an nnsight mismatch with the fix",
    async () => {
      await ndif.control({ env_nnsight: "9.9.9" });
      try {
        const events: ProgressEvent[] = [];
        // another spelling of the host: the preflight runs once per host and worker
        const host = `http://localhost:${ndif.port}`;
        const body = remoteBody(
          models.gpt2.path,
          [0],
          "mean",
          { host },
          mkdtempSync(join(tmpdir(), "ndif-")),
          prompts.slice(0, 1),
        );
        await runtime.request("extract", body, { onProgress: (e) => events.push(e) });
        const warning = events.find((e) => e.type === "remote" && e.status === "PREFLIGHT") as
          { message: string } | undefined;
        expect(warning?.message).toContain("NDIF has nnsight 9.9.9");
        expect(warning?.message).toContain("nnsight==9.9.9");
        expect(warning?.message).toContain("lmprobe setup --force");
      } finally {
        await ndif.control({ env_nnsight: null });
      }
    },
  );

  it(
    "NDIF stand-in (the real server's QUEUED-forever race cannot be triggered on demand): a reattached job " +
      "that passes its deadline again has its record dropped, and the next rerun submits it again",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "ndif-"));
      const body = (timeout_s: number) =>
        remoteBody(models.gpt2.path, [0], "mean", { timeout_s }, dir, prompts.slice(0, 2));
      await ndif.control({ scenario: "hang" }); // jobs stay QUEUED, like a finished job whose COMPLETED write was lost
      try {
        const first = await runtime.request("extract", body(1.5)).catch((e: unknown) => e);
        expect((first as RemoteError).code).toBe("REMOTE_TIMEOUT");
        const stuck = Object.values(jobsRecorded(dir))[0]?.job_id;
        expect(stuck).toBeTruthy(); // a first deadline: the job stays recorded, a rerun may collect it
        // the rerun's record is younger than its timeout_s: reattached, polled to the deadline, then dropped
        const events: ProgressEvent[] = [];
        const second = await runtime
          .request("extract", body(6), { onProgress: (e) => events.push(e) })
          .catch((e: unknown) => e);
        expect(events.some((e) => e.type === "remote" && e.status === "REATTACHED" && e.jobId === stuck)).toBe(true);
        expect((second as RemoteError).code).toBe("REMOTE_TIMEOUT");
        expect((second as Error).message).toContain("record is dropped");
        expect(jobsRecorded(dir)).toEqual({});
        await ndif.control({ scenario: "ok" });
        const before = (await ndif.stats()).submitted;
        const third: ProgressEvent[] = [];
        const r = await runtime.request("extract", body(60), { onProgress: (e) => third.push(e) });
        expect((r.activations as Tensor).shape).toEqual([2, 1, 32]);
        expect((await ndif.stats()).submitted).toBe(before + 1); // submitted again, not reattached
        expect(third.some((e) => e.type === "remote" && e.status === "REATTACHED")).toBe(false);
      } finally {
        await ndif.control({ scenario: "ok" });
      }
    },
  );

  it(
    "NDIF stand-in (the real server's QUEUED-forever race cannot be triggered on demand): a recorded " +
      "job older than timeout_s gets a short look, then is submitted again in the same run",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "ndif-"));
      const body = remoteBody(models.gpt2.path, [0], "mean", { timeout_s: 3 }, dir, prompts.slice(0, 2));
      await ndif.control({ scenario: "hang" });
      let stuck: string | undefined;
      try {
        const first = await runtime.request("extract", body).catch((e: unknown) => e);
        expect((first as RemoteError).code).toBe("REMOTE_TIMEOUT");
        stuck = Object.values(jobsRecorded(dir))[0]?.job_id;
        expect(stuck).toBeTruthy();
      } finally {
        await ndif.control({ scenario: "ok" }); // the stuck job stays QUEUED; new jobs complete
      }
      const before = (await ndif.stats()).submitted;
      const events: ProgressEvent[] = [];
      const r = await runtime.request("extract", body, { onProgress: (e) => events.push(e) });
      expect((r.activations as Tensor).shape).toEqual([2, 1, 32]);
      const remote = events.filter((e) => e.type === "remote") as Array<{ status: string; jobId?: string }>;
      expect(remote.some((e) => e.status === "REATTACHED" && e.jobId === stuck)).toBe(true);
      const done = remote.find((e) => e.status === "COMPLETED");
      expect(done?.jobId).toBeTruthy();
      expect(done?.jobId).not.toBe(stuck);
      expect((await ndif.stats()).submitted).toBe(before + 1);
      expect(jobsRecorded(dir)).toEqual({});
    },
  );

  it(
    "NDIF stand-in (refused keys need NDIF's Postgres, absent from the real tier): a refused " +
      "key is RemoteError REMOTE_AUTH; the key never reaches a file or a message",
    async () => {
      const wrong = new PythonRuntime({ env: { NDIF_API_KEY: "wrong-key-0000" } });
      try {
        const dir = mkdtempSync(join(tmpdir(), "ndif-"));
        const err = await wrong
          .request("extract", remoteBody(models.gpt2.path, [0], "mean", {}, dir, prompts.slice(0, 1)))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RemoteError);
        expect((err as RemoteError).code).toBe("REMOTE_AUTH");
        expect((err as Error).message).not.toContain("wrong-key-0000");
        expect(JSON.stringify(jobsRecorded(dir))).not.toContain("wrong-key");
      } finally {
        await wrong.close();
      }
    },
  );

  it(
    "NDIF stand-in (the real tier's repo ids are local folders, not hub ids): a hub id runs as a " +
      "weightless stub: the client resolves config and tokenizer only, no weights",
    async () => {
      const saved = { cache: process.env.HF_HUB_CACHE, offline: process.env.HF_HUB_OFFLINE };
      process.env.HF_HUB_CACHE = clientHub;
      process.env.HF_HUB_OFFLINE = "1";
      try {
        const snap = join(clientHub, `models--${HUB_ID.replace("/", "--")}`, "snapshots", SHA);
        expect(readdirSync(snap).some((f) => /\.(safetensors|bin)$/.test(f))).toBe(false);
        const events: ProgressEvent[] = [];
        const probe = new Probe({
          model: HUB_ID,
          backend: "nnsight",
          remote: { host: ndif.host, pollIntervalMs: 50 },
          layers: [1, 3],
          randomState: 0,
          runtime,
          cacheDir: mkdtempSync(join(tmpdir(), "ndif-cache-")),
        });
        await probe.fit(CATS, DOGS, { onProgress: (e) => events.push(e) });
        const local = new Probe({
          model: models.llama.path,
          layers: [1, 3],
          randomState: 0,
          runtime,
          cacheDir: mkdtempSync(join(tmpdir(), "ndif-cache-")),
        });
        await local.fit(CATS, DOGS);
        expect(await probe.predict(TEST_PROMPTS)).toEqual(await local.predict(TEST_PROMPTS));
        expect(events.some((e) => e.type === "remote" && e.status === "COMPLETED")).toBe(true);
        expect(readdirSync(snap).some((f) => /\.(safetensors|bin)$/.test(f))).toBe(false);
      } finally {
        for (const [k, v] of [
          ["HF_HUB_CACHE", saved.cache],
          ["HF_HUB_OFFLINE", saved.offline],
        ] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    },
  );
});
