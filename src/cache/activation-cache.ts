/**
 * The activation cache: an SQLite index (better-sqlite3: a real transactional database that
 * several processes can share through WAL and file locks) and one checksummed blob file per entry.
 *
 * An entry is (model key, prompt hash, layer, kind): kind is a pooling ("last_token",
 * "first_token", "mean") for a pooled vector or "full" for the unpadded sequence (real tokens
 * only, so an entry never depends on the batch that produced it). Pooled vectors (a few KB) live
 * inline in their index row: thousands of them are written and read per call, and a file each
 * would cost a syscall storm for no benefit. Full sequences are blob files, written to a temp
 * file and renamed before their row is committed, so a crash leaves at most an orphan file,
 * never a visible partial entry. Every value carries a CRC32 checked on read. The size bound is
 * enforced by LRU eviction right after writes.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import Database from "better-sqlite3";
import { CacheError } from "../errors.js";
import { decodeValues, encodeValues, type CacheDtype } from "./half-float.js";
import { errorCode, errorMessage } from "../internal/unknown-values.js";

/** Version of the on-disk layout; an index from a newer version is refused, never rewritten. */
export const CACHE_FORMAT_VERSION = 2;

/** Kinds of cached entries. */
export type EntryKind = "last_token" | "first_token" | "mean" | "full";

/** A cache entry's values: `rows` × `dim` float32 (rows = 1 for pooled vectors). */
export interface CachedValues {
  rows: number;
  dim: number;
  data: Float32Array;
}

/** One entry to store. */
export interface NewEntry extends CachedValues {
  promptHash: string;
  layer: number;
  kind: EntryKind;
}

/** Per-model summary of the cache. */
export interface ModelCacheInfo {
  model: string;
  modelKey: string;
  entries: number;
  prompts: number;
  layers: number;
  bytes: number;
  oldest: Date | null;
  newest: Date | null;
}

interface Row {
  prompt_hash: string;
  file: string | null;
  data: Buffer | null;
  rows: number;
  dim: number;
  dtype: CacheDtype;
  crc: number;
}

const CHUNK = 500; // bound on SQL parameters per query

export class ActivationCache {
  readonly dir: string;
  private readonly db: Database.Database;
  private readonly maxBytes: number;

  constructor(dir: string, options: { maxGb?: number } = {}) {
    this.dir = dir;
    this.maxBytes = (options.maxGb ?? 20) * 1024 ** 3;
    try {
      mkdirSync(join(dir, "blobs"), { recursive: true });
      this.db = new Database(join(dir, "index.sqlite"));
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("busy_timeout = 30000");
      this.db.pragma("synchronous = NORMAL");
    } catch (err) {
      throw new CacheError(dir, `Cannot open the activation cache in ${dir}: ${errorMessage(err)}. Make the folder writable or set LMPROBE_CACHE_DIR to another one.`, { cause: err });
    }
    this.migrate();
  }

  private migrate(): void {
    this.db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const row = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'format_version'").get();
    const version = row ? Number(row.value) : CACHE_FORMAT_VERSION;
    if (version > CACHE_FORMAT_VERSION) {
      this.db.close();
      throw new CacheError(this.dir, `The activation cache in ${this.dir} has format version ${version}, newer than this lmprobe-ts understands (${CACHE_FORMAT_VERSION}). Upgrade lmprobe-ts or use another LMPROBE_CACHE_DIR.`);
    }
    if (version < CACHE_FORMAT_VERSION) {
      // An older layout is only a cache: start afresh rather than migrate.
      this.db.exec("DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS models; DROP TABLE IF EXISTS fingerprints");
      rmSync(join(this.dir, "blobs"), { recursive: true, force: true });
      mkdirSync(join(this.dir, "blobs"), { recursive: true });
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS models (model_key TEXT PRIMARY KEY, name TEXT NOT NULL, identity TEXT NOT NULL, created REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS entries (
        model_key TEXT NOT NULL, prompt_hash TEXT NOT NULL, layer INTEGER NOT NULL, kind TEXT NOT NULL,
        dtype TEXT NOT NULL, rows INTEGER NOT NULL, dim INTEGER NOT NULL, file TEXT, data BLOB,
        bytes INTEGER NOT NULL, crc INTEGER NOT NULL, created REAL NOT NULL, last_access REAL NOT NULL,
        PRIMARY KEY (model_key, prompt_hash, layer, kind)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS entries_lru ON entries (last_access);
      CREATE TABLE IF NOT EXISTS fingerprints (path TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL);
    `);
    this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('format_version', ?)").run(String(CACHE_FORMAT_VERSION));
  }

  /** Records what a model key stands for (for `cache info`). */
  registerModel(modelKey: string, name: string, identity: unknown): void {
    this.db.prepare("INSERT OR IGNORE INTO models VALUES (?, ?, ?, ?)").run(modelKey, name, JSON.stringify(identity), Date.now() / 1000);
  }

  /** A folder fingerprint computed earlier for the same file listing (`stat`), if any. */
  lookupFingerprint(path: string, stat: string): string | undefined {
    const hit = this.db.prepare<[string], { stat: string; digest: string }>("SELECT stat, digest FROM fingerprints WHERE path = ?").get(path);
    return hit?.stat === stat ? hit.digest : undefined;
  }

  storeFingerprint(path: string, stat: string, digest: string): void {
    this.db.prepare("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)").run(path, stat, digest);
  }

  /**
   * Reads entries of one (model, layer, kind) for many prompts. Entries stored in another dtype
   * than `dtype`, missing blobs and checksum failures are misses (the latter two are dropped with a
   * warning, to be recomputed).
   */
  getMany(modelKey: string, promptHashes: string[], layer: number, kind: EntryKind, dtype: CacheDtype): Map<string, CachedValues> {
    const out = new Map<string, CachedValues>();
    const stale: string[] = [];
    const select = (n: number) =>
      this.db.prepare<unknown[], Row>(`SELECT prompt_hash, file, data, rows, dim, dtype, crc FROM entries WHERE model_key = ? AND layer = ? AND kind = ? AND prompt_hash IN (${Array(n).fill("?").join(",")})`);
    for (let i = 0; i < promptHashes.length; i += CHUNK) {
      const part = promptHashes.slice(i, i + CHUNK);
      for (const row of select(part.length).all(modelKey, layer, kind, ...part)) {
        if (row.dtype !== dtype) continue;
        let bytes: Buffer;
        try {
          bytes = row.data ?? readFileSync(join(this.dir, "blobs", row.file!));
        } catch {
          stale.push(row.prompt_hash); // a blob deleted behind the index's back
          continue;
        }
        if (crc32(bytes) !== row.crc) {
          process.emitWarning(`lmprobe cache: corrupt entry ${row.file ?? `${row.prompt_hash.slice(0, 12)} layer ${layer} ${kind}`} dropped; it will be recomputed`, { code: "LMPROBE_CACHE_CORRUPT" });
          stale.push(row.prompt_hash);
          continue;
        }
        out.set(row.prompt_hash, { rows: row.rows, dim: row.dim, data: decodeValues(bytes, row.dtype) });
      }
    }
    if (stale.length > 0) this.deleteEntries(modelKey, stale, layer, kind);
    if (out.size > 0) this.touch(modelKey, [...out.keys()], layer, kind);
    return out;
  }

  private touch(modelKey: string, hashes: string[], layer: number, kind: EntryKind): void {
    const now = Date.now() / 1000;
    const update = this.db.prepare("UPDATE entries SET last_access = ? WHERE model_key = ? AND prompt_hash = ? AND layer = ? AND kind = ?");
    this.db.transaction(() => {
      for (const h of hashes) update.run(now, modelKey, h, layer, kind);
    })();
  }

  private deleteEntries(modelKey: string, hashes: string[], layer: number, kind: EntryKind): void {
    const del = this.db.prepare<unknown[], { file: string | null }>("DELETE FROM entries WHERE model_key = ? AND prompt_hash = ? AND layer = ? AND kind = ? RETURNING file");
    const files = this.db.transaction(() => hashes.map((h) => del.get(modelKey, h, layer, kind)?.file))();
    for (const f of files) if (f) rmSync(join(this.dir, "blobs", f), { force: true });
  }

  /**
   * Stores entries in one transaction: blobs first (temp file + rename), then the index rows.
   * Either all rows become visible or none. Evicts least recently used entries afterwards when the
   * cache is over its size bound.
   */
  putMany(modelKey: string, entries: NewEntry[], dtype: CacheDtype): void {
    if (this.maxBytes <= 0 || entries.length === 0) return;
    const now = Date.now() / 1000;
    const rows: unknown[][] = [];
    const written: string[] = [];
    try {
      for (const e of entries) {
        const bytes = encodeValues(e.data, dtype);
        if (e.kind !== "full") {
          // Copied: encodeValues may return a view of the caller's (transient) array.
          rows.push([modelKey, e.promptHash, e.layer, e.kind, dtype, e.rows, e.dim, null, Buffer.from(bytes), bytes.byteLength, crc32(bytes), now, now]);
          continue;
        }
        const file = blobName(modelKey, e.promptHash, e.layer, e.kind, dtype);
        const path = join(this.dir, "blobs", file);
        mkdirSync(join(this.dir, "blobs", file.slice(0, 2)), { recursive: true });
        const tmp = `${path}.tmp-${process.pid}`;
        writeFileSync(tmp, bytes);
        renameSync(tmp, path);
        written.push(path);
        rows.push([modelKey, e.promptHash, e.layer, e.kind, dtype, e.rows, e.dim, file, null, bytes.byteLength, crc32(bytes), now, now]);
      }
      const insert = this.db.prepare("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      this.db.transaction(() => {
        for (const r of rows) insert.run(...r);
      })();
    } catch (err) {
      // Nothing of this batch is committed; blobs already renamed are harmless orphans of an
      // earlier identical entry or unreferenced, and are removed here when unreferenced.
      for (const p of written) if (!this.referenced(p)) rmSync(p, { force: true });
      const code = errorCode(err);
      const why = code === "ENOSPC" || code === "SQLITE_FULL" ? "the disk is full" : errorMessage(err);
      throw new CacheError(this.dir, `Writing the activation cache in ${this.dir} failed: ${why}. Nothing of this batch was committed; earlier entries are intact. Free space, lower LMPROBE_CACHE_MAX_GB, or set LMPROBE_CACHE_DIR elsewhere.`, { cause: err });
    }
    this.evictTo(this.maxBytes);
  }

  private referenced(path: string): boolean {
    const file = path.slice(join(this.dir, "blobs").length + 1);
    try {
      return this.db.prepare("SELECT 1 FROM entries WHERE file = ? LIMIT 1").get(file) !== undefined;
    } catch {
      return true;
    }
  }

  /** Total bytes of all committed entries. */
  totalBytes(): number {
    return this.db.prepare<[], { b: number }>("SELECT COALESCE(SUM(bytes), 0) AS b FROM entries").get()?.b ?? 0;
  }

  /** Evicts least recently used entries until the cache holds at most `maxBytes`. */
  evictTo(maxBytes: number): { removed: number; bytes: number } {
    let total = this.totalBytes();
    if (total <= maxBytes) return { removed: 0, bytes: 0 };
    const victims: Array<{ model_key: string; prompt_hash: string; layer: number; kind: string; file: string | null; bytes: number }> = [];
    for (const row of this.db.prepare<[], (typeof victims)[number]>("SELECT model_key, prompt_hash, layer, kind, file, bytes FROM entries ORDER BY last_access ASC").iterate()) {
      if (total <= maxBytes) break;
      victims.push(row);
      total -= row.bytes;
    }
    const del = this.db.prepare("DELETE FROM entries WHERE model_key = ? AND prompt_hash = ? AND layer = ? AND kind = ?");
    this.db.transaction(() => {
      for (const v of victims) del.run(v.model_key, v.prompt_hash, v.layer, v.kind);
    })();
    for (const v of victims) if (v.file) rmSync(join(this.dir, "blobs", v.file), { force: true });
    return { removed: victims.length, bytes: victims.reduce((s, v) => s + v.bytes, 0) };
  }

  /** Per-model entries, prompts, layers, bytes and age. */
  info(): ModelCacheInfo[] {
    const rows = this.db
      .prepare<[], Omit<ModelCacheInfo, "oldest" | "newest"> & { oldest: number; newest: number }>(
        `SELECT e.model_key AS modelKey, COALESCE(m.name, e.model_key) AS model, COUNT(*) AS entries, COUNT(DISTINCT e.prompt_hash) AS prompts,
                COUNT(DISTINCT e.layer) AS layers, SUM(e.bytes) AS bytes, MIN(e.created) AS oldest, MAX(e.created) AS newest
         FROM entries e LEFT JOIN models m ON m.model_key = e.model_key GROUP BY e.model_key ORDER BY model`,
      )
      .all();
    return rows.map((r) => ({ ...r, oldest: r.oldest ? new Date(r.oldest * 1000) : null, newest: r.newest ? new Date(r.newest * 1000) : null }));
  }

  /** Removes every entry, or those of models whose name (or key) is `model`. Returns the count. */
  clear(model?: string): number {
    const where = model === undefined ? "" : "WHERE model_key IN (SELECT model_key FROM models WHERE name = ?) OR model_key = ?";
    const args = model === undefined ? [] : [model, model];
    const files = this.db.transaction(() => {
      const list = this.db.prepare<string[], { file: string | null }>(`SELECT file FROM entries ${where}`).all(...args).map((r) => r.file);
      this.db.prepare(`DELETE FROM entries ${where}`).run(...args);
      return list;
    })();
    for (const f of files) if (f) rmSync(join(this.dir, "blobs", f), { force: true });
    return files.length;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Deterministic blob path: two processes writing the same entry write the same file atomically. */
function blobName(modelKey: string, promptHash: string, layer: number, kind: EntryKind, dtype: CacheDtype): string {
  const id = `${modelKey.slice(0, 16)}-${promptHash.slice(0, 32)}-${layer}-${kind}-${dtype}`;
  return `${promptHash.slice(0, 2)}/${id}.bin`;
}
