/**
 * The `ray` option of {@link PythonRuntime} (else the `LMPROBE_RAY_*` variables, {@link RAY_ENV}):
 * the Ray cluster a child worker fans its extractions out over (README "Scale-out on Ray").
 * Checked with zod before Python starts; the worker receives it as `LMPROBE_RAY_*` variables
 * (python_worker/lmprobe_worker/ray_pool/config.py), so the worker protocol does not change. One
 * schema for the three ways to name a cluster: the option, the variables, and the `--ray` /
 * `--ray-workers` / `--ray-threads` flags of `lmprobe worker start|serve`; errors name what the user wrote.
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
  /**
   * torch's intra-op threads in each actor. Default: what Ray gives the actor (its `CPU`
   * reservation, 1 by default). On CPU, matrix products split their sums by thread count: set it to
   * the local worker's thread count for activations bit-identical to a local worker's.
   */
  threadsPerWorker?: number;
}

/** The environment variables that name a cluster when `ray` is not given. */
export const RAY_ENV = {
  address: "LMPROBE_RAY_ADDRESS",
  workers: "LMPROBE_RAY_WORKERS",
  resourcesPerWorker: "LMPROBE_RAY_RESOURCES",
  threadsPerWorker: "LMPROBE_RAY_TORCH_THREADS",
} as const;

/** The command-line flags of `lmprobe worker start|serve` that name a cluster. */
export const RAY_FLAGS = { address: "--ray", workers: "--ray-workers", threadsPerWorker: "--ray-threads" } as const;

type Field = keyof typeof RAY_ENV;

const HOST_PORT = /^(ray:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

const schema = z.strictObject({
  address: z.string().refine((a) => {
    if (a === "auto") return true;
    const port = Number(HOST_PORT.exec(a)?.[3]);
    return port >= 1 && port <= 65535;
  }),
  workers: z.number().int().min(1).max(4096).optional(),
  resourcesPerWorker: z.record(z.string().regex(/^[A-Za-z_][\w.-]*$/), z.number().finite().min(0)).optional(),
  threadsPerWorker: z.number().int().min(1).max(1024).optional(),
});

const FIX: Record<Field, string> = {
  address: 'must be HOST:PORT of the Ray head (`ray start --head --port PORT`), ray://HOST:PORT, or "auto"',
  workers: "must be an integer from 1 to 4096 (the number of extraction actors)",
  resourcesPerWorker:
    'must map resource names to numbers ≥ 0, e.g. { CPU: 2 } or { GPU: 1, "accelerator_type:H100": 0.01 }',
  threadsPerWorker: "must be an integer from 1 to 1024 (torch threads in each actor)",
};

/** A count as written (`"2"`), a number when it is digits, else the text (zod then says what was wrong). */
const count = (text: string): number | string => (/^\d+$/.test(text) ? Number(text) : text);

/** Checks `raw` against the one schema; `nameOf` says how the user spelled each field. */
function checked(raw: Record<string, unknown>, nameOf: (field: Field) => string): Record<string, string> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "");
    if (!Object.hasOwn(FIX, field)) {
      const extra = issue?.code === "unrecognized_keys" ? ` (unknown: ${issue.keys.join(", ")})` : "";
      throw new InvalidOptionError("ray", `ray must be { address, workers?, resourcesPerWorker? }${extra}.`);
    }
    const name = nameOf(field as Field);
    const shown = raw[field];
    throw new InvalidOptionError(name, `${name} ${FIX[field as Field]}, got ${inspect(shown, { depth: 2 })}.`);
  }
  const { address, workers, resourcesPerWorker, threadsPerWorker } = parsed.data;
  return {
    [RAY_ENV.address]: address,
    ...(workers !== undefined ? { [RAY_ENV.workers]: String(workers) } : {}),
    ...(resourcesPerWorker ? { [RAY_ENV.resourcesPerWorker]: JSON.stringify(resourcesPerWorker) } : {}),
    ...(threadsPerWorker !== undefined ? { [RAY_ENV.threadsPerWorker]: String(threadsPerWorker) } : {}),
  };
}

/** The cluster the `LMPROBE_RAY_*` variables of `env` name, checked, or undefined when none is set. */
function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const address = env[RAY_ENV.address]?.trim();
  if (!address) return undefined;
  const workers = env[RAY_ENV.workers]?.trim();
  const threads = env[RAY_ENV.threadsPerWorker]?.trim();
  const resources = env[RAY_ENV.resourcesPerWorker]?.trim();
  let resourcesPerWorker: unknown;
  if (resources) {
    try {
      resourcesPerWorker = JSON.parse(resources);
    } catch {
      throw new InvalidOptionError(
        RAY_ENV.resourcesPerWorker,
        `${RAY_ENV.resourcesPerWorker} must be a JSON object such as {"CPU": 2}, got ${JSON.stringify(resources)}.`,
      );
    }
  }
  const raw = {
    address,
    ...(workers ? { workers: count(workers) } : {}),
    ...(resources ? { resourcesPerWorker } : {}),
    ...(threads ? { threadsPerWorker: count(threads) } : {}),
  };
  return checked(raw, (field) => RAY_ENV[field]);
}

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
  if (served && option !== undefined)
    throw new InvalidOptionError(
      "ray",
      "ray applies to a child worker: start the served worker with --ray ADDRESS (or LMPROBE_RAY_ADDRESS set) " +
        "instead of passing ray with connect.",
    );
  if (served) return undefined;
  if (option === undefined) return fromEnvironment(env);
  return checked(option as Record<string, unknown>, (field) => `ray.${field}`);
}

/**
 * The `LMPROBE_RAY_*` variables of a daemon or served worker (`lmprobe worker start|serve`): from
 * `--ray ADDRESS [--ray-workers N] [--ray-threads N]`, else from the `LMPROBE_RAY_*` variables of
 * `env`, else none.
 * @throws {InvalidOptionError} `INVALID_OPTION` naming the flag (or the variable) and the fix.
 */
export function rayFlagsEnv(
  flags: { ray?: string | undefined; rayWorkers?: string | undefined; rayThreads?: string | undefined },
  env: NodeJS.ProcessEnv,
): Record<string, string> | undefined {
  if (flags.ray === undefined) {
    const stray =
      flags.rayWorkers !== undefined
        ? RAY_FLAGS.workers
        : flags.rayThreads !== undefined
          ? RAY_FLAGS.threadsPerWorker
          : undefined;
    if (stray) throw new InvalidOptionError(stray, `${stray} needs --ray ADDRESS (the cluster's head).`);
    return fromEnvironment(env);
  }
  const raw = {
    address: flags.ray.trim(),
    ...(flags.rayWorkers !== undefined ? { workers: count(flags.rayWorkers.trim()) } : {}),
    ...(flags.rayThreads !== undefined ? { threadsPerWorker: count(flags.rayThreads.trim()) } : {}),
  };
  return checked(raw, (field) => (field === "resourcesPerWorker" ? RAY_FLAGS.address : RAY_FLAGS[field]));
}
