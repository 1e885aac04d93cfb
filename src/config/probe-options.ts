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
  backend: z.literal("local").default("local"),
  remote: z.literal(false).default(false),
  randomState: int.nullable().optional(),
  batchSize: int.positive().default(8),
  dtype: z.enum(["float32", "float16", "bfloat16"]).default("float32"),
  normalizeLayers: z.union([z.boolean(), z.enum(["per_neuron", "per_layer"])]).default(true),
  runtime: z.instanceof(PythonRuntime).optional(),
  cacheDir: z.string().min(1).nullable().optional(),
  groupByLength: z.boolean().default(true),
  cacheDtype: z.enum(["float32", "float16", "bfloat16"]).default("float32"),
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
  /** Python: `backend`. @default "local" (transformers) */
  backend?: "local";
  /** Python: `remote`. @default false */
  remote?: false;
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
