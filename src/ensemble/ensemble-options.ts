/**
 * Options of {@link ProbeEnsemble} and its factories (lmprobe 0.10.3's keywords in camelCase),
 * validated with zod; failures are InvalidOptionError naming the option.
 */
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";

/** Voting of an ensemble. Python: `voting`. */
export type Voting = "soft" | "hard";

/** Options of `new ProbeEnsemble(probes, options)`. */
export interface EnsembleOptions {
  /**
   * Python: `weights`. One non-negative weight per member, normalised to sum to 1 (soft voting
   * weighs the probabilities; hard voting weighs the votes). @default equal weights
   */
  weights?: number[];
  /** Python: `voting`. "soft" averages probabilities, "hard" takes the majority label. @default "soft" */
  voting?: Voting;
}

/** Options of `ProbeEnsemble.bootstrap(baseProbe, options)`. */
export interface BootstrapOptions extends EnsembleOptions {
  /** Python: `n_resamples`. Members, each fitted on its own resample. @default 10 */
  nResamples?: number;
  /** Python: `random_state`. Seed of `np.random.default_rng` for the resamples. @default undefined (fresh) */
  randomState?: number | null;
}

const weightsSchema = z
  .array(z.number().finite().nonnegative())
  .min(1)
  .refine((w) => w.reduce((a, b) => a + b, 0) > 0, { message: "weights must sum to a positive value" });

/** Schema of {@link EnsembleOptions} (lmprobe's defaults: equal weights, soft voting). */
export const ensembleSchema = z.strictObject({
  weights: weightsSchema.optional(),
  voting: z.enum(["soft", "hard"]).default("soft"),
});

/** Schema of {@link BootstrapOptions} (lmprobe's defaults: 10 resamples, no seed). */
export const bootstrapSchema = ensembleSchema.extend({
  nResamples: z.number().int().min(1).default(10),
  randomState: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional(),
});

/** Parses with `schema`; throws InvalidOptionError naming the first bad option. */
export function parseWith<S extends z.ZodType>(schema: S, what: string, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const option =
    issue?.code === "unrecognized_keys" ? (issue.keys[0] ?? "options") : String(issue?.path[0] ?? "options");
  throw new InvalidOptionError(option, `Invalid ${what} options:\n${z.prettifyError(parsed.error)}`, {
    cause: parsed.error,
  });
}

/** Checks that `weights` has one entry per member. */
export function checkWeightCount(weights: number[] | undefined, members: number): void {
  if (weights && weights.length !== members)
    throw new InvalidOptionError(
      "weights",
      `weights has ${weights.length} entries for ${members} probes: give one weight per probe.`,
    );
}
