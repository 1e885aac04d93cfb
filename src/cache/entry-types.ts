/** Types of activation cache entries and of its per-model summary. */

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
