/**
 * Which Ray cluster a worker shards over, compared across the three places it is told: the
 * `LMPROBE_RAY_*` variables a runtime or `lmprobe worker start|serve` computed (ray-options.ts),
 * a daemon's discovery file, and a worker's `hello` / status reply. A runtime that names no cluster
 * uses any daemon (the Ray path runs the local path's batches: README "Scale-out on Ray"); one that names a
 * cluster uses only a daemon of the same cluster, actor count and resources.
 */
import type { WorkerRaySettings } from "../protocol/messages.js";
export { raySettingsFromWire } from "../protocol/worker-status.js";
import { RAY_ENV } from "./ray-options.js";

/** The cluster of a worker, or null for local extraction. */
export type RaySettings = WorkerRaySettings;

/** The settings that checked `LMPROBE_RAY_*` variables (from {@link rayWorkerEnv}) describe. */
export function raySettingsOf(rayEnv: Record<string, string> | undefined): RaySettings | null {
  const address = rayEnv?.[RAY_ENV.address];
  if (!rayEnv || !address) return null;
  const workers = rayEnv[RAY_ENV.workers];
  const resources = rayEnv[RAY_ENV.resourcesPerWorker];
  const threads = rayEnv[RAY_ENV.threadsPerWorker];
  return {
    address,
    workers: workers ? Number(workers) : null,
    resources: resources ? (JSON.parse(resources) as Record<string, number>) : {},
    threads: threads ? Number(threads) : null,
  };
}

const sortedEntries = (r: Record<string, number>) =>
  JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * True when both name the same cluster, actor count, resources and torch threads per actor (or both
 * are local): the threads are part of it, since on CPU they change the last bits of the activations.
 */
export function sameRay(a: RaySettings | null, b: RaySettings | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.address === b.address &&
    a.workers === b.workers &&
    (a.threads ?? null) === (b.threads ?? null) &&
    sortedEntries(a.resources) === sortedEntries(b.resources)
  );
}

/**
 * A worker's environment: `base` without the `LMPROBE_RAY_*` variables that name a cluster (an
 * inherited, unchecked one must not slip through), plus the checked `rayEnv`. Other `LMPROBE_RAY_*`
 * knobs (the actor start timeout, test hooks) pass through.
 */
export function withRayEnv(
  base: NodeJS.ProcessEnv,
  rayEnv: Record<string, string> | undefined,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...base };
  for (const name of Object.values(RAY_ENV)) delete env[name];
  return { ...env, ...rayEnv };
}

/** One line for people: `127.0.0.1:6379, 2 actors` (or `off`). */
export function describeRay(s: RaySettings | null): string {
  if (s === null) return "off (local extraction)";
  const actors = s.workers === null ? "one actor per GPU (else 1)" : `${s.workers} actor${s.workers === 1 ? "" : "s"}`;
  const res = Object.keys(s.resources).length ? `, each ${JSON.stringify(s.resources)}` : "";
  const threads = s.threads ? `, ${s.threads} torch thread${s.threads === 1 ? "" : "s"} each` : "";
  return `${s.address}, ${actors}${res}${threads}`;
}
