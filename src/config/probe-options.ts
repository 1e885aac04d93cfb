/**
 * Options of `new Probe(...)`, validated with zod before anything else happens: an unknown or
 * mistyped option fails here with InvalidOptionError naming it, and no Python process starts.
 */
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import { EMBEDDED_MODELS, EMBEDDED_PREFIX } from "../models/resolve-model.js";
import { PythonRuntime } from "../worker/python-runtime.js";

const layerNames = ["middle", "last", "all"] as const;
const poolings = ["last_token", "first_token", "mean"] as const;

/** Poolings that reduce a prompt's tokens to one vector. */
export type Pooling = (typeof poolings)[number];
/** Which decoder blocks to probe: an index (negative counts from the end), several, or a named set. */
export type LayerSpec = number | number[] | (typeof layerNames)[number];

const int = z.number().int();

export const probeOptionsSchema = z.strictObject({
  model: z
    .string()
    .min(1, "model must name a local folder, a hub id, or an embedded model such as \"embedded:smollm2-135m\"")
    .refine((m) => !m.startsWith(EMBEDDED_PREFIX) || (EMBEDDED_MODELS as readonly string[]).includes(m.slice(EMBEDDED_PREFIX.length)), {
      message: `unknown embedded model; known: ${EMBEDDED_MODELS.map((m) => EMBEDDED_PREFIX + m).join(", ")}`,
    }),
  revision: z.string().min(1).optional(),
  layers: z.union([int, z.array(int).min(1, "layers needs at least one index"), z.enum(layerNames)]).default("middle"),
  pooling: z.enum(poolings).default("last_token"),
  trainPooling: z.enum(poolings).optional(),
  inferencePooling: z.enum(poolings).optional(),
  classifier: z.literal("logistic_regression").default("logistic_regression"),
  classifierKwargs: z.record(z.string(), z.unknown()).optional(),
  task: z.literal("classification").default("classification"),
  device: z
    .string()
    .regex(/^(auto|cpu|mps|cuda(:\d+)?)$/, 'device must be "auto", "cpu", "mps", "cuda" or "cuda:N"')
    .default("auto"),
  backend: z.enum(["local", "nnsight"]).default("local"),
  remote: z
    .union([
      z.boolean(),
      z.looseObject({
        host: z.string().regex(/^https?:\/\//, "remote.host must start with http:// or https://").optional(),
        timeoutMs: int.positive().optional(),
        pollIntervalMs: int.positive().optional(),
        retryBackoffMs: int.nonnegative().optional(),
      }),
    ])
    .default(false),
  maxRetries: int.nonnegative().optional(),
  randomState: int.nullable().optional(),
  batchSize: int.positive().default(8),
  dtype: z.enum(["float32", "float16", "bfloat16"]).default("float32"),
  normalizeLayers: z.union([z.boolean(), z.enum(["per_neuron", "per_layer"])]).default(true),
  runtime: z.instanceof(PythonRuntime).optional(),
  cacheDir: z.string().min(1).nullable().optional(),
  groupByLength: z.boolean().default(true),
  cacheDtype: z.enum(["float32", "float16", "bfloat16"]).default("float32"),
}).superRefine((o, ctx) => {
  const remoteKeys = ["host", "timeoutMs", "pollIntervalMs", "retryBackoffMs"];
  const unknown = typeof o.remote === "object" ? Object.keys(o.remote).filter((k) => !remoteKeys.includes(k)) : [];
  if (unknown.length > 0) {
    ctx.addIssue({ code: "custom", path: ["remote"], message: `unknown remote setting(s) ${unknown.join(", ")}; known: ${remoteKeys.join(", ")}` });
  }
  if (o.remote !== false && o.backend !== "nnsight") {
    ctx.addIssue({ code: "custom", path: ["remote"], message: 'remote execution (NDIF) needs backend: "nnsight"; the "local" backend runs on this machine only' });
  }
  if (o.remote !== false && o.model.startsWith(EMBEDDED_PREFIX)) {
    ctx.addIssue({ code: "custom", path: ["remote"], message: "embedded models run locally only: NDIF serves hub models (pass a hub id such as \"meta-llama/Llama-3.1-8B\")" });
  }
});

/**
 * Options of {@link Probe}. Names mirror lmprobe's `Probe(...)` keywords in camelCase; string
 * values keep lmprobe's spelling.
 */
export interface ProbeOptions {
  /** Python: `model`. A local folder (saved with `save_pretrained`), a hub id, or `"embedded:smollm2-135m"`. */
  model: string;
  /** Hub revision (branch, tag or commit) for hub ids. @default "main" */
  revision?: string;
  /** Python: `layers`. Decoder block(s) whose output is probed; layer i is the output of block i. @default "middle" */
  layers?: LayerSpec;
  /** Python: `pooling`. How a prompt's token activations become one vector. @default "last_token" */
  pooling?: Pooling;
  /** Python: `train_pooling`. Overrides `pooling` for fit. */
  trainPooling?: Pooling;
  /** Python: `inference_pooling`. Overrides `pooling` for predict. */
  inferencePooling?: Pooling;
  /** Python: `classifier`. @default "logistic_regression" */
  classifier?: "logistic_regression";
  /** Python: `classifier_kwargs`. Passed to the scikit-learn constructor untouched (snake_case keys). */
  classifierKwargs?: Record<string, unknown>;
  /** Python: `task`. @default "classification" */
  task?: "classification";
  /** Python: `device`. `"auto"` picks CUDA, then MPS, then CPU. @default "auto" */
  device?: string;
  /** Python: `backend`. `"local"`: transformers with forward hooks; `"nnsight"`: nnsight traces (same numbers). @default "local" */
  backend?: "local" | "nnsight";
  /**
   * Python: `remote`. Run the extraction on NDIF (needs `backend: "nnsight"` and `NDIF_API_KEY`);
   * an object sets the host and the job deadline, polling and backoff. @default false
   */
  remote?: boolean | RemoteOptions;
  /** Retries per remote batch (transport failures, 5xx, transient job errors), with exponential backoff and jitter. @default 3 */
  maxRetries?: number;
  /** Python: `random_state`. Seed of the classifier. @default undefined */
  randomState?: number | null;
  /** Python: `batch_size`. Prompts per forward pass. @default 8 */
  batchSize?: number;
  /** Python: `dtype`. Model weights' dtype; activations always reach you as float32. @default "float32" */
  dtype?: "float32" | "float16" | "bfloat16";
  /** Python: `normalize_layers`. Scaling of multi-layer features (one layer is always standardized). @default true */
  normalizeLayers?: boolean | "per_neuron" | "per_layer";
  /** A shared worker. Without it the probe starts its own and closes it in `close()`. */
  runtime?: PythonRuntime;
  /**
   * Batch prompts of similar token length together (less padding, same tokens; results keep the
   * input order). `false` batches in input order exactly as lmprobe does, for bit-for-bit parity.
   * @default true
   */
  groupByLength?: boolean;
  /** Activation cache folder; `null` turns caching off. @default LMPROBE_CACHE_DIR, else LMPROBE_HOME/activations */
  cacheDir?: string | null;
  /** Storage dtype of cached activations. float16/bfloat16 halve the disk use but are lossy. @default "float32" */
  cacheDtype?: "float32" | "float16" | "bfloat16";
}

/** Settings of remote (NDIF) execution, for `remote: { ... }`. */
export interface RemoteOptions {
  /** NDIF host. @default NDIF_HOST, else "https://api.ndif.us" */
  host?: string;
  /** Deadline per job, from submission to result. @default 3600000 @unit milliseconds */
  timeoutMs?: number;
  /** Pause between status polls. @default 2000 @unit milliseconds */
  pollIntervalMs?: number;
  /** First retry delay; doubled per retry, with ±50% jitter. @default 1000 @unit milliseconds */
  retryBackoffMs?: number;
}

/** Options with defaults applied. */
export type ResolvedProbeOptions = z.output<typeof probeOptionsSchema>;

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Validates probe options; throws InvalidOptionError naming the first bad option. */
export function parseProbeOptions(input: unknown): ResolvedProbeOptions {
  const parsed = probeOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  let option = String(issue?.path[0] ?? "options");
  let hint = "";
  if (issue?.code === "unrecognized_keys") {
    option = issue.keys[0] ?? option;
    const known = Object.keys(probeOptionsSchema.shape);
    const suggestion = camel(option);
    hint = known.includes(suggestion)
      ? ` Options are camelCase: use "${suggestion}" instead of "${option}".`
      : ` Known options: ${known.join(", ")}.`;
  }
  throw new InvalidOptionError(option, `Invalid Probe options:\n${z.prettifyError(parsed.error)}${hint}`, { cause: parsed.error });
}
