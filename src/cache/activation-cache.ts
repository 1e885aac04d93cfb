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
 * enforced by LRU eviction right after writes (whole-index queries: cache-queries.ts).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type Database from "better-sqlite3";
import { CacheError } from "../errors.js";
import { decodeValues, encodeValues, type CacheDtype } from "./half-float.js";
import { errorCode, errorMessage } from "../internal/unknown-values.js";
import { createSchema } from "./index-schema.js";
import { cacheFailure, isBusy, isDamaged, markedDamaged, openIndex, retryBusy, setIndexAside } from "./sqlite-guard.js";
import { blobTempName, removeStaleTemporaries } from "./stale-temporaries.js";
import { clearEntries, evictLeastRecent, sumBytes, summariseModels } from "./cache-queries.js";
import type { CachedValues, EntryKind, ModelCacheInfo, NewEntry } from "./entry-types.js";

export { CACHE_FORMAT_VERSION } from "./index-schema.js";
export type { CachedValues, EntryKind, ModelCacheInfo, NewEntry } from "./entry-types.js";

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
    this.db = this.open(true);
  }

  /** Opens (and creates or migrates) the index; a damaged one is set aside once and started afresh. */
  private open(repairDamaged: boolean): Database.Database {
    let db: Database.Database | undefined;
    try {
      if (markedDamaged(this.dir)) setIndexAside(this.dir);
      mkdirSync(join(this.dir, "blobs"), { recursive: true });
      db = openIndex(this.dir);
      const opened = db;
      retryBusy(() => createSchema(opened, this.dir));
      return db;
    } catch (err) {
      db?.close();
      if (err instanceof CacheError) throw err;
      if (repairDamaged && isDamaged(err)) {
        setIndexAside(this.dir);
        return this.open(false);
      }
      throw cacheFailure(this.dir, "opening it", err);
    }
  }

  /** Runs one operation on the index; every failure becomes a CacheError naming the folder and the fix. */
  private guard<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw err instanceof CacheError ? err : cacheFailure(this.dir, action, err);
    }
  }

  /** Records what a model key stands for (for `cache info`). */
  registerModel(modelKey: string, name: string, identity: unknown): void {
    return this.guard("recording a model", () => {
      this.db
        .prepare("INSERT OR IGNORE INTO models VALUES (?, ?, ?, ?)")
        .run(modelKey, name, JSON.stringify(identity), Date.now() / 1000);
    });
  }

  /** A folder fingerprint computed earlier for the same file listing (`stat`), if any. */
  lookupFingerprint(path: string, stat: string): string | undefined {
    return this.guard("reading a model fingerprint", () => {
      const hit = this.db
        .prepare<[string], { stat: string; digest: string }>("SELECT stat, digest FROM fingerprints WHERE path = ?")
        .get(path);
      return hit?.stat === stat ? hit.digest : undefined;
    });
  }

  storeFingerprint(path: string, stat: string, digest: string): void {
    return this.guard("storing a model fingerprint", () => {
      this.db.prepare("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)").run(path, stat, digest);
    });
  }

  /**
   * Reads entries of one (model, layer, kind) for many prompts. Entries stored in another dtype
   * than `dtype`, missing blobs and checksum failures are misses (the latter two are dropped with a
   * warning, to be recomputed).
   */
  getMany(
    modelKey: string,
    promptHashes: string[],
    layer: number,
    kind: EntryKind,
    dtype: CacheDtype,
  ): Map<string, CachedValues> {
    return this.guard("reading entries", () => {
      const out = new Map<string, CachedValues>();
      const stale: string[] = [];
      const select = (n: number) =>
        this.db.prepare<unknown[], Row>(
          "SELECT prompt_hash, file, data, rows, dim, dtype, crc FROM entries " +
            `WHERE model_key = ? AND layer = ? AND kind = ? AND prompt_hash IN (${Array(n).fill("?").join(",")})`,
        );
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
            const entry = row.file ?? `${row.prompt_hash.slice(0, 12)} layer ${layer} ${kind}`;
            process.emitWarning(`lmprobe cache: corrupt entry ${entry} dropped; it will be recomputed`, {
              code: "LMPROBE_CACHE_CORRUPT",
            });
            stale.push(row.prompt_hash);
            continue;
          }
          out.set(row.prompt_hash, { rows: row.rows, dim: row.dim, data: decodeValues(bytes, row.dtype) });
        }
      }
      if (stale.length > 0) this.deleteEntries(modelKey, stale, layer, kind);
      if (out.size > 0) this.touch(modelKey, [...out.keys()], layer, kind);
      return out;
    });
  }

  private touch(modelKey: string, hashes: string[], layer: number, kind: EntryKind): void {
    const now = Date.now() / 1000;
    const update = this.db.prepare(
      "UPDATE entries SET last_access = ? WHERE model_key = ? AND prompt_hash = ? AND layer = ? AND kind = ?",
    );
    this.db.transaction(() => {
      for (const h of hashes) update.run(now, modelKey, h, layer, kind);
    })();
  }

  private deleteEntries(modelKey: string, hashes: string[], layer: number, kind: EntryKind): void {
    const del = this.db.prepare<unknown[], { file: string | null }>(
      "DELETE FROM entries WHERE model_key = ? AND prompt_hash = ? AND layer = ? AND kind = ? RETURNING file",
    );
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
    // One index row: pooled vectors inline (`data`), full sequences as a blob `file`.
    const row = (e: NewEntry, bytes: Uint8Array, file: string | null, data: Buffer | null): unknown[] => {
      const size = bytes.byteLength;
      return [modelKey, e.promptHash, e.layer, e.kind, dtype, e.rows, e.dim, file, data, size, crc32(bytes), now, now];
    };
    try {
      for (const e of entries) {
        const bytes = encodeValues(e.data, dtype);
        if (e.kind !== "full") {
          // Copied: encodeValues may return a view of the caller's (transient) array.
          rows.push(row(e, bytes, null, Buffer.from(bytes)));
          continue;
        }
        const file = blobName(modelKey, e.promptHash, e.layer, e.kind, dtype);
        const path = join(this.dir, "blobs", file);
        mkdirSync(join(this.dir, "blobs", file.slice(0, 2)), { recursive: true });
        const tmp = blobTempName(path);
        try {
          writeFileSync(tmp, bytes);
          renameSync(tmp, path);
        } catch (err) {
          rmSync(tmp, { force: true }); // a full disk leaves a zero-byte or partial temporary
          throw err;
        }
        written.push(path);
        rows.push(row(e, bytes, file, null));
      }
      const insert = this.db.prepare("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      this.db.transaction(() => {
        for (const r of rows) insert.run(...r);
      })();
    } catch (err) {
      // Nothing of this batch is committed; blobs already renamed are harmless orphans of an
      // earlier identical entry or unreferenced, and are removed here when unreferenced.
      for (const p of written) if (!this.referenced(p)) rmSync(p, { force: true });
      if (isDamaged(err) || isBusy(err)) throw cacheFailure(this.dir, "writing entries", err);
      const code = errorCode(err);
      const why = code === "ENOSPC" || code === "SQLITE_FULL" ? "the disk is full" : errorMessage(err);
      throw new CacheError(
        this.dir,
        `Writing the activation cache in ${this.dir} failed: ${why}. ` +
          "Nothing of this batch was committed; earlier entries are intact. " +
          "Free space, lower LMPROBE_CACHE_MAX_GB, or set LMPROBE_CACHE_DIR elsewhere.",
        { cause: err },
      );
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
    return this.guard("measuring its size", () => sumBytes(this.db));
  }

  /** Evicts least recently used entries until the cache holds at most `maxBytes`. */
  evictTo(maxBytes: number): { removed: number; bytes: number } {
    return this.guard("evicting entries", () => evictLeastRecent(this.db, this.dir, this.totalBytes(), maxBytes));
  }

  /** Removes blob temporaries left by failed or killed writers (`cache prune`). Returns the count. */
  removeTemporaries(): number {
    return this.guard("removing temporary files", () => removeStaleTemporaries(join(this.dir, "blobs")));
  }

  /** Per-model entries, prompts, layers, bytes and age. */
  info(): ModelCacheInfo[] {
    return this.guard("summarising it", () => summariseModels(this.db));
  }

  /** Removes every entry, or those of models whose name (or key) is `model`. Returns the count. */
  clear(model?: string): number {
    return this.guard("clearing entries", () => clearEntries(this.db, this.dir, model));
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
