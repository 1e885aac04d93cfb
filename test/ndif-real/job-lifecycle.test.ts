/**
 * NDIF job life cycle against the real NDIF server (PyPI ndif 0.1.2 on loopback, started by
 * test/ndif-real/harness): a trace that raises on the server, a deadline passed, an abort while
 * polling, and the resume of recorded jobs after the Node process was killed with SIGKILL. Each
 * test that needs time to act uses a model NDIF has never deployed (harness/models.ts): its first
 * job waits for the deployment, which takes seconds. Public API only.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  AbortError,
  Probe,
  PythonRuntime,
  RemoteJobError,
  RemoteTimeoutError,
  type ProbeOptions,
  type ProgressEvent,
} from "../../src/index.js";
import { CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";
import { startCountingProxy, type CountingProxy } from "./harness/counting-proxy.js";
import { freshModel, OOV_TOKEN, oovModel } from "./harness/models.js";

const models = inject("tinyModels");
const { host: server } = inject("ndifReal");
const KEY = "ndif-real-tier-any-key"; // NDIF accepts any key without its Postgres
const runtime = new PythonRuntime({ env: { NDIF_API_KEY: KEY } });
let proxy: CountingProxy;

beforeAll(async () => {
  proxy = await startCountingProxy(server);
});
afterAll(async () => {
  await runtime.close();
  await proxy?.close();
});

type Remote = { status: string; jobId?: string; batches?: number };
const remoteEvents = (events: ProgressEvent[]) => events.filter((e) => e.type === "remote") as unknown as Remote[];
const tmp = () => mkdtempSync(join(tmpdir(), "ndif-real-cache-"));
const recordedJobs = (cacheDir: string): string[] => {
  const file = join(cacheDir, "ndif-jobs.json");
  return existsSync(file)
    ? Object.values(JSON.parse(readFileSync(file, "utf8")) as Record<string, { job_id: string }>).map((r) => r.job_id)
    : [];
};
const BATCH = 8;
// One NDIF job per chunk of 64+ prompts (a session of its batches' traces; a short tail rides along)
const JOBS = Math.max(1, Math.floor((CATS.length + DOGS.length) / 64));

function remoteProbe(model: string, cacheDir: string, remote: Record<string, unknown> = {}): Probe {
  const opts: ProbeOptions = {
    model,
    layers: [1, 3],
    pooling: "mean",
    batchSize: BATCH,
    randomState: 0,
    runtime,
    backend: "nnsight",
    remote: { host: proxy.host, pollIntervalMs: 50, timeoutMs: 180_000, ...remote },
    cacheDir,
  };
  return new Probe(opts);
}

/** The recorded jobs are collected: REATTACHED for each, no new submission, and the probe works. */
async function collectsRecorded(model: string, cacheDir: string, recorded: string[]): Promise<void> {
  const before = proxy.submitted();
  const events: ProgressEvent[] = [];
  const probe = remoteProbe(model, cacheDir);
  await probe.fit(CATS, DOGS, { onProgress: (e) => events.push(e) });
  expect(proxy.submitted()).toBe(before);
  const reattached = remoteEvents(events)
    .filter((e) => e.status === "REATTACHED")
    .map((e) => e.jobId);
  expect(reattached.sort()).toEqual([...recorded].sort());
  expect(recordedJobs(cacheDir)).toEqual([]); // collected jobs are forgotten
  const local = new Probe({
    model,
    layers: [1, 3],
    pooling: "mean",
    batchSize: BATCH,
    randomState: 0,
    runtime,
    cacheDir: tmp(),
  });
  await local.fit(CATS, DOGS);
  expect(await probe.predict(TEST_PROMPTS)).toEqual(await local.predict(TEST_PROMPTS));
}

describe("real NDIF server: job life cycle", () => {
  it(
    "real NDIF: a trace that raises on the server is RemoteJobError " + "with the server's own traceback, not retried",
    async () => {
      // a token id past the embedding table: only the server's real forward pass can fail on it
      const model = oovModel(models.llama.path);
      const before = proxy.submitted();
      const probe = remoteProbe(model, tmp());
      const err = await probe.warmup([`The cat ${OOV_TOKEN} sat.`, "A dog."]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteJobError);
      const e = err as RemoteJobError;
      console.info(`real NDIF server-side failure: ${e.message.split("\n")[0]!.slice(0, 200)}`);
      expect(e.code).toBe("REMOTE_JOB");
      expect(e.remoteTraceback).toContain("Traceback (most recent call last)");
      expect(e.remoteTraceback).toMatch(/IndexError|index out of range/);
      expect(e.jobId).toMatch(/^[0-9a-f-]{32,36}$/);
      expect(e.host).toBe(proxy.host);
      expect(e.attempts).toBe(1);
      expect(proxy.submitted() - before).toBe(1); // a deterministic failure is not retried
    },
  );

  it(
    "real NDIF: a job past its deadline (waiting for its deployment) is " +
      "RemoteTimeoutError, stays recorded, and a rerun collects it",
    async () => {
      const model = freshModel(models.llama.path, "deadline");
      const cacheDir = tmp();
      const err = await remoteProbe(model, cacheDir, { timeoutMs: 1000 })
        .fit(CATS, DOGS)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteTimeoutError);
      const e = err as RemoteTimeoutError;
      console.info(`real NDIF deadline: last status ${e.status}`);
      expect(e.code).toBe("REMOTE_TIMEOUT");
      expect(e.timeoutMs).toBe(1000);
      expect(["RECEIVED", "PROVISIONING", "DEPLOYING", "QUEUED", "DISPATCHED"]).toContain(e.status);
      const recorded = recordedJobs(cacheDir);
      expect(recorded).toContain(e.jobId);
      expect(recorded).toHaveLength(JOBS);
      await collectsRecorded(model, cacheDir, recorded);
    },
  );

  it("real NDIF: a recorded job the server does not know (its response expired) is submitted again", async () => {
    const model = freshModel(models.llama.path, "expired");
    const cacheDir = tmp();
    await remoteProbe(model, cacheDir, { timeoutMs: 1000 })
      .fit(CATS, DOGS)
      .catch(() => undefined);
    const file = join(cacheDir, "ndif-jobs.json");
    const book = JSON.parse(readFileSync(file, "utf8")) as Record<string, { job_id: string }>;
    expect(Object.keys(book)).toHaveLength(JOBS);
    // ids NDIF never issued: GET /response/{id} answers 404, as for an expired job
    for (const rec of Object.values(book))
      rec.job_id = rec.job_id.replace(/^./, (c) => (c === "0" ? "1" : "0")).replace(/.$/, "f");
    writeFileSync(file, JSON.stringify(book));
    const before = proxy.submitted();
    // the worker gives a reattached job min(deadline, 10 s) to show any status before it resubmits:
    // a 20 s deadline keeps the wait short (the model is deployed by now: its jobs take well under that)
    await remoteProbe(model, cacheDir, { timeoutMs: 20_000 }).fit(CATS, DOGS);
    expect(proxy.submitted() - before).toBe(JOBS);
    expect(recordedJobs(cacheDir)).toEqual([]);
  });

  it(
    "real NDIF: an abort while polling stops at once; the jobs " + "stay recorded and the same worker collects them",
    async () => {
      const model = freshModel(models.llama.path, "abort");
      const cacheDir = tmp();
      const controller = new AbortController();
      const pid = await runtime.pid();
      const events: ProgressEvent[] = [];
      const err = await remoteProbe(model, cacheDir)
        .fit(CATS, DOGS, {
          signal: controller.signal,
          onProgress: (e) => {
            events.push(e);
            if (e.type === "remote" && e.status === "RECEIVED" && e.batch === e.batches)
              controller.abort(new Error("user cancelled"));
          },
        })
        .catch((x: unknown) => x);
      expect(err).toBeInstanceOf(AbortError);
      expect(remoteEvents(events).some((e) => e.status === "COMPLETED")).toBe(false);
      const recorded = recordedJobs(cacheDir);
      expect(recorded).toHaveLength(JOBS);
      await collectsRecorded(model, cacheDir, recorded);
      expect(await runtime.pid()).toBe(pid); // the abort did not need a worker kill
    },
  );

  it(
    "real NDIF: after kill -9 of the Node process mid-fit, a new " +
      "process resumes its recorded jobs without resubmitting",
    async () => {
      const { CATS: childCats, DOGS: childDogs } = await import("../helpers/prompt-sets.mjs");
      expect([childCats, childDogs]).toEqual([CATS, DOGS]); // the child fits the same prompts
      const dist = join(import.meta.dirname, "..", "..", "dist", "index.js");
      expect(existsSync(dist), "the resume test runs the built package: npm run build").toBe(true);
      const model = freshModel(models.llama.path, "resume");
      const cacheDir = tmp();
      const child = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "remote-fit-child.mjs")], {
        env: { ...process.env, NDIF_API_KEY: KEY, FIT_MODEL: model, FIT_HOST: proxy.host, FIT_CACHE_DIR: cacheDir },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let workerPid = 0;
      const submitted: string[] = [];
      await new Promise<void>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`the child exited (${code}) before submitting its jobs`)));
        createInterface({ input: child.stdout! }).on("line", (line) => {
          const msg = JSON.parse(line) as {
            event: string;
            pid?: number;
            type?: string;
            status?: string;
            jobId?: string;
          };
          if (msg.event === "worker") workerPid = msg.pid!;
          if (msg.event === "progress" && msg.type === "remote" && msg.status === "RECEIVED")
            submitted.push(msg.jobId!);
          if (submitted.length === JOBS) resolve();
        });
      });
      child.kill("SIGKILL"); // no chance to clean up anything
      // its worker notices the dead parent (stdin EOF) and exits: it must not collect the jobs itself
      for (let i = 0; i < 100 && alive(workerPid); i++) await sleep(100);
      expect(alive(workerPid)).toBe(false);
      expect(recordedJobs(cacheDir).sort()).toEqual([...submitted].sort());
      await collectsRecorded(model, cacheDir, submitted);
    },
  );
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
