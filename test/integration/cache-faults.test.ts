/** Faults around the activation cache: kills, corruption, full disks, concurrency, versions. */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ActivationCache, CacheError, Probe, PythonRuntime } from "../../src/index.js";
import { freshDir, manyPrompts, runNode } from "../helpers/cache.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());

const blobFiles = (dir: string) =>
  readdirSync(join(dir, "blobs"), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(".bin"))
    .map((d) => join(d.parentPath, d.name));

describe("crashes", () => {
  it("a kill -9 of Node mid-warmup leaves only whole, verified entries and the rerun resumes", async () => {
    const cacheDir = freshDir();
    const prompts = manyPrompts(240, "kill");
    const child = runNode(`
      const probe = new SDK.Probe({
        model: ${JSON.stringify(models.gpt2.path)}, layers: [0, 2], batchSize: 4, cacheDir: ${JSON.stringify(cacheDir)},
      });
      await probe.warmup(${JSON.stringify(prompts)}, {
        onProgress: (e) => e.type === "extract" && console.log("done " + e.completed),
      });
    `);
    child.all!.on("data", (chunk: Buffer) => {
      const done = Math.max(...[...chunk.toString().matchAll(/done (\d+)/g)].map((m) => Number(m[1])));
      if (done >= 140) child.kill("SIGKILL"); // two chunks of 64 committed, the third in flight
    });
    const result = await child;
    expect(result.signal).toBe("SIGKILL");
    const probe = new Probe({ model: models.gpt2.path, layers: [0, 2], batchSize: 4, cacheDir, runtime });
    const resumed = await probe.warmup(prompts);
    expect(resumed.cached % 64).toBe(0); // whole chunks only: nothing half-written is visible
    expect(resumed.cached).toBeGreaterThanOrEqual(128);
    expect(resumed.cached).toBeLessThan(240);
    expect(await probe.warmup(prompts)).toEqual({ prompts: 240, cached: 240 });
  });
});

describe("damaged entries", () => {
  it("detects a corrupt blob by its checksum, warns, drops and recomputes it", async () => {
    const cacheDir = freshDir();
    const probe = new Probe({ model: models.llama.path, layers: 1, cacheDir, runtime });
    const prompts = manyPrompts(6, "corrupt");
    const before = await probe.warmup(prompts, { fullSequence: true });
    // Drop the pooled entries so the next reads go to the full-sequence blobs.
    const db = new Database(join(cacheDir, "index.sqlite"));
    db.prepare("DELETE FROM entries WHERE kind != 'full'").run();
    db.close();
    expect(before.cached).toBe(0);
    const [victim] = blobFiles(cacheDir);
    const bytes = readFileSync(victim!);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(victim!, bytes);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    const again = await probe.warmup(prompts);
    await new Promise((r) => setImmediate(r));
    process.off("warning", onWarning);
    expect(again.cached).toBe(5);
    expect(warnings.some((w) => w.includes("corrupt entry"))).toBe(true);
    expect((await probe.warmup(prompts)).cached).toBe(6);
  });

  it("recomputes a blob deleted behind the index's back", async () => {
    const cacheDir = freshDir();
    const probe = new Probe({ model: models.llama.path, layers: 1, cacheDir, runtime });
    const prompts = manyPrompts(6, "deleted");
    await probe.warmup(prompts, { fullSequence: true });
    const db = new Database(join(cacheDir, "index.sqlite"));
    db.prepare("DELETE FROM entries WHERE kind != 'full'").run();
    db.close();
    rmSync(blobFiles(cacheDir)[0]!);
    expect((await probe.warmup(prompts)).cached).toBe(5);
    expect((await probe.warmup(prompts)).cached).toBe(6);
  });
});

describe("inline entries", () => {
  it("detects a pooled vector damaged inside the index by its checksum", async () => {
    const cacheDir = freshDir();
    const probe = new Probe({ model: models.gpt2.path, layers: 0, cacheDir, runtime });
    const prompts = manyPrompts(4, "inline");
    await probe.warmup(prompts);
    const db = new Database(join(cacheDir, "index.sqlite"));
    const row = db.prepare("SELECT prompt_hash, data FROM entries LIMIT 1").get() as {
      prompt_hash: string;
      data: Buffer;
    };
    row.data[3] = row.data[3]! ^ 0x40;
    db.prepare("UPDATE entries SET data = ? WHERE prompt_hash = ?").run(row.data, row.prompt_hash);
    db.close();
    expect((await probe.warmup(prompts)).cached).toBe(3);
    expect((await probe.warmup(prompts)).cached).toBe(4);
  });
});

describe("refusals", () => {
  it("refuses an index written by a newer format version", () => {
    const cacheDir = freshDir();
    new ActivationCache(cacheDir).close();
    const db = new Database(join(cacheDir, "index.sqlite"));
    db.prepare("UPDATE meta SET value = '99' WHERE key = 'format_version'").run();
    db.close();
    expect(() => new ActivationCache(cacheDir)).toThrow(CacheError);
    expect(() => new ActivationCache(cacheDir)).toThrow("format version 99");
  });

  it("starts afresh on an index of an older format version", () => {
    const cacheDir = freshDir();
    new ActivationCache(cacheDir).close();
    const db = new Database(join(cacheDir, "index.sqlite"));
    db.exec("UPDATE meta SET value = '1' WHERE key = 'format_version'; DROP TABLE entries; CREATE TABLE entries (x)");
    db.close();
    const cache = new ActivationCache(cacheDir);
    expect(cache.info()).toEqual([]);
    cache.close();
  });

  it("fails clearly when the cache folder cannot be created", async () => {
    const file = join(freshDir(), "a-file");
    writeFileSync(file, "x");
    const probe = new Probe({ model: models.gpt2.path, layers: 0, cacheDir: join(file, "cache"), runtime });
    const err = await probe.warmup(["x"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).message).toContain("LMPROBE_CACHE_DIR");
  });
});

const mountPoint = freshDir("lmprobe-tmpfs-");
let canMount = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint], { stdio: "ignore" });
  canMount = true;
} catch {
  // not root, or no mount permission in this sandbox
}
afterAll(() => {
  if (canMount) execFileSync("umount", [mountPoint]);
});

describe.skipIf(!canMount)("a full disk (a 1 MB tmpfs)", () => {
  it("fails the write with a clear error and keeps every committed entry", async () => {
    const cacheDir = join(mountPoint, "cache");
    const probe = new Probe({ model: models.gpt2.path, layers: 0, batchSize: 8, cacheDir, runtime });
    const prompts = manyPrompts(640, "full"); // one 4 KB block per blob: a few 64-prompt chunks fit
    const err = await probe.warmup(prompts, { fullSequence: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await probe.close();
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).message).toMatch(/disk is full|database or disk is full/);
    const cache = new ActivationCache(cacheDir);
    const [info] = cache.info();
    cache.close();
    expect(info!.prompts % 64).toBe(0);
    expect(info!.prompts).toBeGreaterThan(0);
    rmSync(cacheDir, { recursive: true, force: true });
  });
});

describe("model identity", () => {
  it("keeps the same prompt under two revisions of a hub model apart", async () => {
    const hub = freshDir("hf-hub-");
    const repo = join(hub, "models--tiny--gpt2");
    const shas = ["a".repeat(40), "b".repeat(40)];
    mkdirSync(join(repo, "refs"), { recursive: true });
    writeFileSync(join(repo, "refs", "main"), shas[0]!);
    writeFileSync(join(repo, "refs", "v2"), shas[1]!);
    for (const sha of shas) cpSync(models.gpt2.path, join(repo, "snapshots", sha), { recursive: true });
    process.env.HF_HUB_CACHE = hub;
    try {
      const cacheDir = freshDir();
      await new Probe({ model: "tiny/gpt2", layers: 0, cacheDir, runtime }).warmup(["same prompt"]);
      const v2 = new Probe({ model: "tiny/gpt2", revision: "v2", layers: 0, cacheDir, runtime });
      expect((await v2.warmup(["same prompt"])).cached).toBe(0);
      const cache = new ActivationCache(cacheDir);
      expect(cache.info().map((m) => m.entries)).toEqual([1, 1]);
      cache.close();
    } finally {
      delete process.env.HF_HUB_CACHE;
    }
  });
});

describe("several processes", () => {
  it("two processes warming overlapping prompts end with a consistent, complete cache", async () => {
    const cacheDir = freshDir();
    const all = manyPrompts(180, "mp");
    const warm = (part: string[]) =>
      runNode(`
        const probe = new SDK.Probe({
          model: ${JSON.stringify(models.gpt_neox.path)}, layers: [0, 1], batchSize: 8,
          cacheDir: ${JSON.stringify(cacheDir)},
        });
        await probe.warmup(${JSON.stringify(part)});
        await probe.close();
      `);
    const [a, b] = await Promise.all([warm(all.slice(0, 120)), warm(all.slice(60))]);
    expect([a.exitCode, b.exitCode], `${a.all}\n${b.all}`).toEqual([0, 0]);
    const probe = new Probe({ model: models.gpt_neox.path, layers: [0, 1], cacheDir, runtime });
    expect(await probe.warmup(all)).toEqual({ prompts: 180, cached: 180 });
    const cache = new ActivationCache(cacheDir);
    expect(cache.info()[0]).toMatchObject({ entries: 360, prompts: 180, layers: 2 });
    cache.close();
  });
});
