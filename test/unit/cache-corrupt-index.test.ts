/**
 * A damaged SQLite index (issue 11 item 9): every cache operation fails with a CacheError naming
 * the folder and the fix, never a raw SqliteError, and the next open sets the damaged index aside
 * and starts an empty, working cache (the values are recomputable). Real SQLite files damaged by
 * overwriting pages; no Python.
 */
import { closeSync, existsSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ActivationCache, CacheError } from "../../src/index.js";
import type { NewEntry } from "../../src/cache/activation-cache.js";
import { freshDir } from "../helpers/cache.js";

const DIM = 64;
const entries = (count: number, kind: NewEntry["kind"] = "last_token"): NewEntry[] =>
  Array.from({ length: count }, (_, i) => ({
    promptHash: `${i.toString(16).padStart(8, "0")}${"ab".repeat(28)}`,
    layer: 0,
    kind,
    rows: kind === "full" ? 3 : 1,
    dim: DIM,
    data: Float32Array.from({ length: (kind === "full" ? 3 : 1) * DIM }, (_, j) => i + j / 100),
  }));
const hashes = (n: number) => entries(n).map((e) => e.promptHash);

/** A cache with 400 pooled entries and 5 blob entries, closed (its WAL checkpointed). */
function filledCache(): string {
  const dir = freshDir("lmprobe-corrupt-");
  const cache = new ActivationCache(dir);
  cache.registerModel("mk", "tiny", {});
  cache.putMany("mk", entries(400), "float32");
  cache.putMany("mk", entries(5, "full"), "float32");
  cache.close();
  return dir;
}

/** Overwrites the root page of the `entries` table with garbage (the schema and `meta` stay readable). */
function damageEntriesTable(dir: string): void {
  const file = join(dir, "index.sqlite");
  const db = new Database(file, { readonly: true });
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'entries'").get() as { rootpage: number })
    .rootpage;
  db.close();
  const fd = openSync(file, "r+");
  writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);
}

const failure = (fn: () => unknown): unknown => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
};

afterEach(() => vi.restoreAllMocks());

describe("a damaged page in the index", () => {
  it("reads fail with a CacheError naming the folder and the fix", () => {
    const dir = filledCache();
    damageEntriesTable(dir);
    const cache = new ActivationCache(dir);
    const err = failure(() => cache.getMany("mk", hashes(400), 0, "last_token", "float32"));
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).dir).toBe(dir);
    expect((err as CacheError).message).toContain(dir);
    expect((err as CacheError).message).toMatch(/damaged.*rerun the call|delete the folder/s);
    cache.close();
  });

  it.each([
    ["getMany", (c: ActivationCache) => c.getMany("mk", hashes(10), 0, "last_token", "float32")],
    [
      "putMany",
      (c: ActivationCache) =>
        c.putMany(
          "mk",
          entries(50).map((e) => ({ ...e, promptHash: `ff${e.promptHash.slice(2)}` })),
          "float32",
        ),
    ],
    ["totalBytes", (c: ActivationCache) => c.totalBytes()],
    ["evictTo", (c: ActivationCache) => c.evictTo(0)],
    ["info", (c: ActivationCache) => c.info()],
    ["clear", (c: ActivationCache) => c.clear()],
  ] as const)("%s fails with CacheError, not a raw SqliteError", (_name, call) => {
    const dir = filledCache();
    damageEntriesTable(dir);
    const cache = new ActivationCache(dir);
    const err = failure(() => call(cache));
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe("CACHE");
    cache.close();
  });

  it("the next open sets the damaged index aside and starts an empty cache that works", () => {
    const dir = filledCache();
    damageEntriesTable(dir);
    const first = new ActivationCache(dir);
    expect(failure(() => first.info())).toBeInstanceOf(CacheError);
    first.close();
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const cache = new ActivationCache(dir);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("damaged"),
      expect.objectContaining({ code: "LMPROBE_CACHE_CORRUPT" }),
    );
    expect(cache.info()).toEqual([]);
    cache.putMany("mk", entries(3), "float32");
    expect(cache.getMany("mk", hashes(3), 0, "last_token", "float32").size).toBe(3);
    cache.close();
    expect(readdirSync(dir).some((f) => f.startsWith("index.sqlite.damaged-"))).toBe(true);
  });
});

describe("an index file that is not a database", () => {
  it("is set aside at open, with a warning, and the cache works", () => {
    const dir = filledCache();
    const fd = openSync(join(dir, "index.sqlite"), "r+");
    writeSync(fd, Buffer.alloc(8192, 0x33), 0, 8192, 0);
    closeSync(fd);
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const cache = new ActivationCache(dir);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("damaged"),
      expect.objectContaining({ code: "LMPROBE_CACHE_CORRUPT" }),
    );
    expect(cache.info()).toEqual([]);
    cache.putMany("mk", entries(2, "full"), "float32");
    expect(cache.getMany("mk", hashes(2), 0, "full", "float32").size).toBe(2);
    cache.close();
    expect(existsSync(join(dir, "index.sqlite"))).toBe(true);
  });
});
