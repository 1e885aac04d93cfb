/**
 * Queries over the whole activation cache index: its size, least-recently-used eviction, the
 * per-model summary and clearing. ActivationCache runs them inside its error guard, which turns
 * every failure into a CacheError naming the folder.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { ModelCacheInfo } from "./entry-types.js";

/** Total bytes of all committed entries. */
export function sumBytes(db: Database.Database): number {
  return db.prepare<[], { b: number }>("SELECT COALESCE(SUM(bytes), 0) AS b FROM entries").get()?.b ?? 0;
}

/**
 * Deletes least recently used entries (rows, then their blobs under `dir`) until the cache holds
 * at most `maxBytes`, starting from its current `total` bytes.
 */
export function evictLeastRecent(
  db: Database.Database,
  dir: string,
  total: number,
  maxBytes: number,
): { removed: number; bytes: number } {
  let left = total;
  if (left <= maxBytes) return { removed: 0, bytes: 0 };
  const victims: Array<{
    model_key: string;
    prompt_hash: string;
    layer: number;
    kind: string;
    file: string | null;
    bytes: number;
  }> = [];
  for (const row of db
    .prepare<[], (typeof victims)[number]>(
      "SELECT model_key, prompt_hash, layer, kind, file, bytes FROM entries ORDER BY last_access ASC",
    )
    .iterate()) {
    if (left <= maxBytes) break;
    victims.push(row);
    left -= row.bytes;
  }
  const del = db.prepare("DELETE FROM entries WHERE model_key = ? AND prompt_hash = ? AND layer = ? AND kind = ?");
  db.transaction(() => {
    for (const v of victims) del.run(v.model_key, v.prompt_hash, v.layer, v.kind);
  })();
  for (const v of victims) if (v.file) rmSync(join(dir, "blobs", v.file), { force: true });
  return { removed: victims.length, bytes: victims.reduce((s, v) => s + v.bytes, 0) };
}

/** Per-model entries, prompts, layers, bytes and age. */
export function summariseModels(db: Database.Database): ModelCacheInfo[] {
  const rows = db
    .prepare<[], Omit<ModelCacheInfo, "oldest" | "newest"> & { oldest: number; newest: number }>(
      `SELECT e.model_key AS modelKey, COALESCE(m.name, e.model_key) AS model, COUNT(*) AS entries,
                COUNT(DISTINCT e.prompt_hash) AS prompts, COUNT(DISTINCT e.layer) AS layers, SUM(e.bytes) AS bytes,
                MIN(e.created) AS oldest, MAX(e.created) AS newest
         FROM entries e LEFT JOIN models m ON m.model_key = e.model_key GROUP BY e.model_key ORDER BY model`,
    )
    .all();
  return rows.map((r) => ({
    ...r,
    oldest: r.oldest ? new Date(r.oldest * 1000) : null,
    newest: r.newest ? new Date(r.newest * 1000) : null,
  }));
}

/** Removes every entry, or those of models whose name (or key) is `model`, and their blobs. Returns the count. */
export function clearEntries(db: Database.Database, dir: string, model?: string): number {
  const where =
    model === undefined ? "" : "WHERE model_key IN (SELECT model_key FROM models WHERE name = ?) OR model_key = ?";
  const args = model === undefined ? [] : [model, model];
  const files = db.transaction(() => {
    const list = db
      .prepare<string[], { file: string | null }>(`SELECT file FROM entries ${where}`)
      .all(...args)
      .map((r) => r.file);
    db.prepare(`DELETE FROM entries ${where}`).run(...args);
    return list;
  })();
  for (const f of files) if (f) rmSync(join(dir, "blobs", f), { force: true });
  return files.length;
}
