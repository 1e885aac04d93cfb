/**
 * NDIF remote execution against a loopback stand-in (test/fixtures/ndif_standin.py) that speaks
 * the HTTP protocol nnsight 0.8.1's RemoteBackend uses in non-blocking mode (POST /request,
 * GET /response/{id}, result download, GET /env) and runs the received traces on the tiny
 * models. The stand-in is reached through the `host` setting / NDIF_HOST, exactly as the real
 * service would be. Nothing here talks to the real NDIF.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  AbortError,
  Probe,
  PythonRuntime,
  RemoteError,
  RemoteJobError,
  RemoteTimeoutError,
  type ProgressEvent,
} from "../../src/index.js";
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
    "NDIF stand-in: success — pooled on the server, float16 on the wire, " +
      "equal to the local backend within float16 rounding",
    async () => {
      for (const family of ["llama", "gpt2"] as const) {
        const m = models[family];
        for (const pooling of ["last_token", "mean", "none"]) {
          const dir = mkdtempSync(join(tmpdir(), "ndif-"));
          const events: ProgressEvent[] = [];
          const remote = await runtime.request("extract", remoteBody(m.path, [0, m.num_layers - 1], pooling, {}, dir), {
            onProgress: (e) => events.push(e),
          });
          const local = await runtime.request("extract", {
            model: m.path,
            prompts,
            layers: [0, m.num_layers - 1],
            pooling,
            batch_size: 3,
            group_by_length: false,
          });
          const a = (remote.activations as Tensor).data as Float32Array;
          const b = (local.activations as Tensor).data as Float32Array;
          expect(a.length).toBe(b.length);
          let worst = 0;
          for (let i = 0; i < a.length; i++)
            worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
          console.info(
            `NDIF stand-in ${family} ${pooling}: max relative |Δ| vs local ${worst.toExponential(2)} ` +
              "(float16 transfer)",
          );
          expect(worst).toBeLessThan(1e-3); // float16 keeps 11 significant bits: ≤ 4.9e-4 relative
          const statuses = events.filter((e) => e.type === "remote").map((e) => (e as { status: string }).status);
          expect(statuses).toContain("RECEIVED");
          expect(statuses).toContain("COMPLETED");
          expect(statuses.filter((s) => s === "COMPLETED")).toHaveLength(3); // 7 prompts, batches of 3
          const summary = remote.remote as { job_ids: string[]; host: string };
          expect(summary.job_ids).toHaveLength(3);
          expect(jobsRecorded(dir)).toEqual({}); // collected jobs are forgotten
        }
      }
    },
  );

  it(
    "NDIF stand-in: a probe with remote: true fits and predicts like the local probe; " +
      "a rerun reads the cache (no job)",
    async () => {
      const cacheDir = mkdtempSync(join(tmpdir(), "ndif-cache-"));
      const common = {
        model: models.gpt_neox.path,
        layers: "all" as const,
        pooling: "mean" as const,
        randomState: 0,
        batchSize: 4,
        runtime,
      };
      const events: ProgressEvent[] = [];
      const remote = new Probe({
        ...common,
        backend: "nnsight",
        remote: { host: ndif.host, pollIntervalMs: 50 },
        cacheDir,
      });
      const local = new Probe({ ...common, cacheDir: mkdtempSync(join(tmpdir(), "ndif-cache-")) });
      await remote.fit(CATS, DOGS, { onProgress: (e) => events.push(e) });
      await local.fit(CATS, DOGS);
      expect(await remote.predict(TEST_PROMPTS)).toEqual(await local.predict(TEST_PROMPTS));
      const a = await remote.predictProba(TEST_PROMPTS);
      const b = await local.predictProba(TEST_PROMPTS);
      a.forEach((row, i) => row.forEach((p, k) => expect(Math.abs(p - b[i]![k]!)).toBeLessThan(1e-2)));
      expect(events.some((e) => e.type === "remote" && e.status === "COMPLETED" && typeof e.jobId === "string")).toBe(
        true,
      );
      const before = (await ndif.stats()).submitted;
      const again = new Probe({
        ...common,
        backend: "nnsight",
        remote: { host: ndif.host, pollIntervalMs: 50 },
        cacheDir,
      });
      await again.fit(CATS, DOGS);
      expect((await ndif.stats()).submitted).toBe(before); // everything came from the activation cache
    },
  );

  it(
    "NDIF stand-in: a server-side failure surfaces as RemoteJobError " + "with the remote traceback, not retried",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "ndif-"));
      await ndif.control({ scenario: "trace_error" });
      const before = (await ndif.stats()).submitted;
      try {
        const err = await runtime
          .request("extract", remoteBody(models.llama.path, [1], "mean", {}, dir, prompts.slice(0, 2)))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RemoteJobError);
        const e = err as RemoteJobError;
        expect(e.code).toBe("REMOTE_JOB");
        expect(e.remoteTraceback).toContain("Traceback (most recent call last)");
        expect(e.remoteTraceback).toContain("injected failure inside the model's forward pass");
        expect(e.jobId).toMatch(/^[0-9a-f]{32}$/);
        expect(e.host).toBe(ndif.host);
        expect(e.attempts).toBe(1);
        expect((await ndif.stats()).submitted - before).toBe(1);
      } finally {
        await ndif.control({ scenario: "ok" });
      }
    },
  );

  it("NDIF stand-in: retry then success (a 503 on submit, then a job removed from the queue)", async () => {
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
  });

  it(
    "NDIF stand-in: a job past its deadline fails with RemoteTimeoutError, stays recorded, " +
      "and a rerun collects it without resubmitting",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "ndif-"));
      await ndif.control({ scenario: "hang" });
      const body = remoteBody(models.llama.path, [0, 3], "mean", { timeout_s: 1 }, dir, prompts.slice(0, 3));
      // No wall-clock bar: a deadline that is not enforced hangs the call into the test's timeout.
      const err = await runtime.request("extract", body).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteTimeoutError);
      expect((err as RemoteTimeoutError).timeoutMs).toBe(1000);
      expect((err as RemoteTimeoutError).status).toBe("QUEUED");
      const recorded = Object.values(jobsRecorded(dir)).map((r) => r.job_id);
      expect(recorded).toContain((err as RemoteTimeoutError).jobId);
      // the job finishes server-side later; the rerun polls the recorded job
      await ndif.control({ scenario: "ok", release: true });
      const before = (await ndif.stats()).submitted;
      const events: ProgressEvent[] = [];
      const r = await runtime.request(
        "extract",
        { ...body, remote: { ...body.remote, timeout_s: 60 } },
        { onProgress: (e) => events.push(e) },
      );
      expect((r.activations as Tensor).shape).toEqual([3, 2, 32]);
      expect((await ndif.stats()).submitted).toBe(before);
      expect(
        events.some(
          (e) => e.type === "remote" && e.status === "REATTACHED" && e.jobId === (err as RemoteTimeoutError).jobId,
        ),
      ).toBe(true);
      expect(jobsRecorded(dir)).toEqual({});
    },
  );

  it("NDIF stand-in: cancel via AbortSignal stops polling at once; the worker stays usable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ndif-"));
    await ndif.control({ scenario: "hang" });
    const controller = new AbortController();
    const pending = runtime.request(
      "extract",
      remoteBody(models.gpt2.path, [1], "mean", {}, dir, prompts.slice(0, 2)),
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === "remote" && e.status === "QUEUED") controller.abort(new Error("user cancelled"));
        },
      },
    );
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(Object.keys(jobsRecorded(dir))).toHaveLength(1); // still recorded: a rerun collects it
    await ndif.control({ scenario: "ok", release: true });
    const pid = await runtime.pid();
    const r = await runtime.request("extract", remoteBody(models.gpt2.path, [1], "mean", {}, dir, prompts.slice(0, 2)));
    expect((r.activations as Tensor).shape).toEqual([2, 1, 32]);
    expect(await runtime.pid()).toBe(pid); // the cancel did not need a worker kill
  });

  it("NDIF stand-in: preflight reports a version mismatch with the fix", async () => {
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
  });

  it("NDIF stand-in: a refused key is RemoteError REMOTE_AUTH; the key never reaches a file or a message", async () => {
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
  });

  it(
    "NDIF stand-in: a hub id runs as a weightless stub: " + "the client resolves config and tokenizer only, no weights",
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
