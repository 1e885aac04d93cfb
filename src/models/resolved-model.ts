/** What model resolution returns (resolve-model.ts locally, served-model.ts through a served worker). */

/** A model resolved to a folder the worker can load (on the served worker's machine for `connect`). */
export interface ResolvedModel {
  /** The model, named the way the user wrote it. */
  name: string;
  /** Folder the worker loads. */
  path: string;
  /** Commit sha for hub models, when known. */
  revision?: string;
  numLayers: number;
  config: Record<string, unknown>;
  /** The cache identity a served worker computed for its own folder (local folders are fingerprinted here). */
  source?: Record<string, unknown>;
}
