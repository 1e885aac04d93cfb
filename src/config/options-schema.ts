/**
 * The zod schema of `new Probe(...)` options: each option's type, range and default, plus the
 * `remote` checks that need the whole object. Combinations of options are checked in option-checks.ts.
 */
import { z } from "zod";
import { EMBEDDED_MODELS, EMBEDDED_PREFIX, isEmbeddedModel } from "../models/embedded-models.js";
import { BUILTIN_CLASSIFIERS } from "../protocol/classifiers.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { checkPoolingValue, POOLING_PATTERN, type InferencePooling, type Pooling } from "../estimator/pooling.js";
import { tokensSchema } from "../chat/chat-input.js";
import { layerSpec, type LayerSpec } from "./layer-spec.js";

const int = z.number().int();

/** True for a {@link PythonRuntime} (checked by shape, so option parsing needs no worker code). */
function isRuntime(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const methods = ["call", "request", "prewarm", "envValue", "close"];
  return methods.every((m) => typeof Reflect.get(value, m) === "function");
}

const PREPROCESSING_STEP = /^(standard|standard_scaler|pca(:[1-9]\d*)?)$/;

/** POOLING_PATTERN admits exactly the Pooling strings: pipe() hands their type on to the parsed options. */
const poolingType = z.custom<Pooling>();

const preprocessingSpec = z
  .union([z.string(), z.array(z.string()).min(1)])
  .nullable()
  .refine(
    (spec) => spec === null || (Array.isArray(spec) ? spec : spec.split("+")).every((s) => PREPROCESSING_STEP.test(s)),
    {
      message:
        'preprocessing steps are "standard" and "pca" / "pca:N", ' +
        'in a "+"-joined string (e.g. "standard+pca:16") or an array',
    },
  );

/** Schema of the `new Probe(...)` options: parses them and applies the defaults. */
export const probeOptionsSchema = z
  .strictObject({
    model: z
      .string()
      .min(1, 'model must name a local folder, a hub id, or an embedded model (e.g. "embedded:smollm2-135m")')
      .refine((m) => !m.startsWith(EMBEDDED_PREFIX) || isEmbeddedModel(m.slice(EMBEDDED_PREFIX.length)), {
        message: `unknown embedded model; known: ${EMBEDDED_MODELS.map((m) => EMBEDDED_PREFIX + m).join(", ")}`,
      })
      .optional(),
    revision: z.string().min(1).optional(),
    layers: layerSpec.default("middle"),
    pooling: z
      .string()
      .regex(
        POOLING_PATTERN,
        "pooling must be last_token, first_token, mean, all, max, min, ema:ALPHA, rolling:N, " +
          "or score:/activation: with one of those",
      )
      .superRefine((v, ctx) => {
        const message = checkPoolingValue(v, "pooling");
        if (message) ctx.addIssue({ code: "custom", message });
      })
      .pipe(poolingType)
      .default("last_token"),
    trainPooling: z.enum(["last_token", "first_token", "mean", "all"]).optional(),
    inferencePooling: z
      .string()
      .regex(
        POOLING_PATTERN,
        "inferencePooling must be last_token, first_token, mean, all, max, min, ema:ALPHA, rolling:N, " +
          "or score:/activation: with one of those",
      )
      .superRefine((v, ctx) => {
        const message = checkPoolingValue(v, "inferencePooling");
        if (message) ctx.addIssue({ code: "custom", message });
      })
      .pipe(poolingType)
      .optional(),
    classifier: z
      .union([
        z.enum(BUILTIN_CLASSIFIERS),
        z.strictObject({
          estimator: z
            .string()
            .regex(
              /^sklearn(\.[A-Za-z_]\w*)+\.[A-Za-z_]\w*$/,
              'estimator must be a scikit-learn class path like "sklearn.svm.LinearSVC" ' +
                "(other modules are refused: importing them would run arbitrary code)",
            ),
          params: z.record(z.string(), z.unknown()).optional(),
        }),
      ])
      .default("logistic_regression"),
    classifierKwargs: z.record(z.string(), z.unknown()).optional(),
    task: z.enum(["classification", "regression"]).default("classification"),
    device: z
      .string()
      .regex(/^(auto|cpu|mps|cuda(:\d+)?)$/, 'device must be "auto", "cpu", "mps", "cuda" or "cuda:N"')
      .default("auto"),
    backend: z.enum(["local", "nnsight"]).default("local"),
    remote: z
      .union([
        z.boolean(),
        z.looseObject({
          host: z
            .string()
            .regex(/^https?:\/\//, "remote.host must start with http:// or https://")
            .optional(),
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
    autoCandidates: z.array(z.number()).min(1).optional(),
    autoAlpha: z.number().positive().default(0.01),
    fastAutoTopK: int.positive().optional(),
    preprocessing: preprocessingSpec.optional(),
    pcaComponents: int.positive().optional(),
    massMeanAugment: z.boolean().default(false),
    // Structural: config/ does not load the worker layer (a runtime is anything with its methods).
    runtime: z.custom<PythonRuntime>(isRuntime, "runtime must be a PythonRuntime").optional(),
    cacheDir: z.string().min(1).nullable().optional(),
    groupByLength: z.boolean().default(true),
    cacheDtype: z.enum(["float32", "float16", "bfloat16"]).default("float32"),
    tokens: tokensSchema.default("all"),
  })
  .superRefine((o, ctx) => {
    const remoteKeys = ["host", "timeoutMs", "pollIntervalMs", "retryBackoffMs"];
    const unknown = typeof o.remote === "object" ? Object.keys(o.remote).filter((k) => !remoteKeys.includes(k)) : [];
    if (unknown.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["remote"],
        message: `unknown remote setting(s) ${unknown.join(", ")}; known: ${remoteKeys.join(", ")}`,
      });
    }
    if (o.remote !== false && o.backend !== "nnsight") {
      ctx.addIssue({
        code: "custom",
        path: ["remote"],
        message: 'remote execution (NDIF) needs backend: "nnsight"; the "local" backend runs on this machine only',
      });
    }
    if (o.remote !== false && o.model?.startsWith(EMBEDDED_PREFIX)) {
      ctx.addIssue({
        code: "custom",
        path: ["remote"],
        message:
          'embedded models run locally only: NDIF serves hub models (pass a hub id like "meta-llama/Llama-3.1-8B")',
      });
    }
  });

/** Options with defaults applied. */
export type ResolvedProbeOptions = Omit<
  z.output<typeof probeOptionsSchema>,
  "pooling" | "inferencePooling" | "layers"
> & {
  pooling: Pooling;
  inferencePooling?: InferencePooling;
  layers: LayerSpec;
};
