/**
 * The `ray` option of {@link PythonRuntime} (else `LMPROBE_RAY_ADDRESS` / `LMPROBE_RAY_WORKERS`):
 * the Ray cluster a child worker fans its extractions out over (README "Scale-out on Ray").
 * Checked with zod before Python starts; the worker receives it as `LMPROBE_RAY_*` variables
 * (python_worker/lmprobe_worker/ray_pool/config.py), so the worker protocol does not change.
 */
import { inspect } from "node:util";
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";

/** `ray` option of {@link PythonRuntime}: extraction sharded over the actors of a Ray cluster. */
export interface RayOptions {
  /**
   * The cluster: `HOST:PORT` of its head's GCS (`ray start --head --port`), `ray://HOST:PORT`
   * (Ray Client), or `"auto"` (the cluster this machine is a node of, as `ray.init("auto")`).
   */
  address: string;
  /** Extraction actors, each loading the model once. Default: one per GPU of the cluster, else 1. */
  workers?: number;
  /**
   * What each actor reserves: `CPU`, `GPU` and custom resources. Default: one GPU each when the
   * cluster has GPUs, else one CPU.
   */
  resourcesPerWorker?: Record<string, number>;
}

/** The environment variables that name a cluster when `ray` is not given. */
export const RAY_ENV = { address: "LMPROBE_RAY_ADDRESS", workers: "LMPROBE_RAY_WORKERS" } as const;

const HOST_PORT = /^(ray:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

const schema = z.strictObject({
  address: z.string().refine((a) => {
    if (a === "auto") return true;
    const port = Number(HOST_PORT.exec(a)?.[3]);
    return port >= 1 && port <= 65535;
  }),
  workers: z.number().int().min(1).max(4096).optional(),
  resourcesPerWorker: z.record(z.string().regex(/^[A-Za-z_][\w.-]*$/), z.number().finite().min(0)).optional(),
});

const FIX: Record<string, string> = {
  address: 'must be HOST:PORT of the Ray head (`ray start --head --port PORT`), ray://HOST:PORT, or "auto"',
  workers: "must be an integer from 1 to 4096 (the number of extraction actors)",
  resourcesPerWorker:
    'must map resource names to numbers ≥ 0, e.g. { CPU: 2 } or { GPU: 1, "accelerator_type:H100": 0.01 }',
};

/**
 * The worker's `LMPROBE_RAY_*` variables for `option`, else for `env`'s `LMPROBE_RAY_ADDRESS`, or
 * undefined when neither names a cluster. A served worker (`served`) reads its own environment.
 * @throws {InvalidOptionError} `INVALID_OPTION` naming `ray.<field>` (or the variable) and the fix.
 */
export function rayWorkerEnv(
  option: unknown,
  env: NodeJS.ProcessEnv,
  served = false,
): Record<string, string> | undefined {
  const fromEnv = option === undefined;
  if (served && !fromEnv)
    throw new InvalidOptionError(
      "ray",
      "ray applies to a child worker: start the served worker with LMPROBE_RAY_ADDRESS set instead of passing ray " +
        "with connect.",
    );
  if (served) return undefined;
  let raw = option;
  if (fromEnv) {
    const address = env[RAY_ENV.address]?.trim();
    if (!address) return undefined;
    const workers = env[RAY_ENV.workers]?.trim();
    raw = { address, ...(workers ? { workers: /^\d+$/.test(workers) ? Number(workers) : workers } : {}) };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "");
    if (!Object.hasOwn(FIX, field)) {
      const extra = issue?.code === "unrecognized_keys" ? ` (unknown: ${issue.keys.join(", ")})` : "";
      throw new InvalidOptionError("ray", `ray must be { address, workers?, resourcesPerWorker? }${extra}.`);
    }
    const name = fromEnv ? (RAY_ENV[field as keyof typeof RAY_ENV] ?? RAY_ENV.address) : `ray.${field}`;
    const shown = (raw as Record<string, unknown>)[field];
    throw new InvalidOptionError(name, `${name} ${FIX[field]}, got ${inspect(shown, { depth: 2 })}.`);
  }
  const { address, workers, resourcesPerWorker } = parsed.data;
  return {
    LMPROBE_RAY_ADDRESS: address,
    ...(workers !== undefined ? { LMPROBE_RAY_WORKERS: String(workers) } : {}),
    ...(resourcesPerWorker ? { LMPROBE_RAY_RESOURCES: JSON.stringify(resourcesPerWorker) } : {}),
  };
}
