/**
 * The SQLite schema of the cache index, created (or, for an older layout, started afresh) in one
 * IMMEDIATE transaction: two processes opening a fresh cache take turns instead of racing.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { CacheError } from "../errors.js";

/** Version of the on-disk layout; an index from a newer version is refused, never rewritten. */
export const CACHE_FORMAT_VERSION = 2;

/**
 * Creates the tables of the index in `dir` if missing; refuses a newer layout, drops an older one.
 * @internal
 */
export function createSchema(db: Database.Database, dir: string): void {
  db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'format_version'").get();
    const version = row ? Number(row.value) : CACHE_FORMAT_VERSION;
    if (version > CACHE_FORMAT_VERSION) {
      throw new CacheError(
        dir,
        `The activation cache in ${dir} has format version ${version}, ` +
          `newer than this lmprobe-ts understands (${CACHE_FORMAT_VERSION}). ` +
          "Upgrade lmprobe-ts or use another LMPROBE_CACHE_DIR.",
      );
    }
    if (version < CACHE_FORMAT_VERSION) {
      // An older layout is only a cache: start afresh rather than migrate.
      db.exec("DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS models; DROP TABLE IF EXISTS fingerprints");
      rmSync(join(dir, "blobs"), { recursive: true, force: true });
      mkdirSync(join(dir, "blobs"), { recursive: true });
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS models (
        model_key TEXT PRIMARY KEY, name TEXT NOT NULL, identity TEXT NOT NULL, created REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS entries (
        model_key TEXT NOT NULL, prompt_hash TEXT NOT NULL, layer INTEGER NOT NULL, kind TEXT NOT NULL,
        dtype TEXT NOT NULL, rows INTEGER NOT NULL, dim INTEGER NOT NULL, file TEXT, data BLOB,
        bytes INTEGER NOT NULL, crc INTEGER NOT NULL, created REAL NOT NULL, last_access REAL NOT NULL,
        PRIMARY KEY (model_key, prompt_hash, layer, kind)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS entries_lru ON entries (last_access);
      CREATE TABLE IF NOT EXISTS fingerprints (path TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL);
    `);
    db.prepare("INSERT OR REPLACE INTO meta VALUES ('format_version', ?)").run(String(CACHE_FORMAT_VERSION));
  }).immediate();
}
