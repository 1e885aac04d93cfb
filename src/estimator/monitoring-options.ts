/**
 * The monitoring options of `evaluate` (`fpr`, `roc`, `bootstrap`), validated with zod before
 * any activation is extracted: a bad value fails with InvalidOptionError naming it (`fpr[1]`,
 * `bootstrap.n`), and options that need two classes are refused for other probes.
 */
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";

/** Monitoring metrics `evaluate` adds on request (binary classification probes). */
export interface MonitoringOptions {
  /** Target false-positive rates in (0, 1): adds `recallAtFpr` (and `roc`). */
  fpr?: number | number[];
  /** Adds the ROC curve points (`roc`) even without `fpr`. */
  roc?: boolean;
  /** Percentile bootstrap confidence intervals of accuracy, AUROC and recall@FPR. */
  bootstrap?: {
    /** Resamples (an integer ≥ 1; 1000 is usual). */
    n: number;
    /** Seed of the resampling generator (an integer in [0, 2³² − 1]). @default 0 */
    seed?: number;
    /** Coverage of the interval, in (0, 1). @default 0.95 */
    confidence?: number;
  };
}

/** Monitoring options with defaults applied; `fpr` always a list (empty: none asked). */
export interface ResolvedMonitoring {
  fpr: number[];
  roc: boolean;
  bootstrap?: { n: number; seed: number; confidence: number };
}

const rate = z.number().gt(0, "must be above 0").lt(1, "must be below 1");
const schema = z.strictObject({
  fpr: z.union([rate, z.array(rate).min(1, "must list at least one rate")]).optional(),
  roc: z.boolean().optional(),
  bootstrap: z
    .strictObject({
      n: z.number().int("must be an integer").min(1, "must be at least 1").max(1_000_000),
      seed: z.number().int("must be an integer").min(0).max(0xffffffff).optional(),
      confidence: z.number().gt(0, "must be above 0").lt(1, "must be below 1").optional(),
    })
    .optional(),
});

/** The option a zod path names: `fpr[1]`, `bootstrap.n`. */
function optionName(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)),
    "",
  );
}

/**
 * Validates the monitoring subset of evaluate's options (other keys are the call's own and are
 * left alone). Throws InvalidOptionError naming the first bad option.
 */
export function parseMonitoringOptions(options: MonitoringOptions): ResolvedMonitoring {
  const { fpr, roc, bootstrap } = options;
  const subset = Object.fromEntries(Object.entries({ fpr, roc, bootstrap }).filter(([, v]) => v !== undefined));
  const parsed = schema.safeParse(subset);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = optionName(issue?.path ?? []) || "options";
    throw new InvalidOptionError(option, `Invalid evaluate option "${option}": ${issue?.message ?? "invalid"}.`, {
      cause: parsed.error,
    });
  }
  const d = parsed.data;
  return {
    fpr: d.fpr === undefined ? [] : Array.isArray(d.fpr) ? d.fpr : [d.fpr],
    roc: d.roc ?? false,
    ...(d.bootstrap
      ? { bootstrap: { n: d.bootstrap.n, seed: d.bootstrap.seed ?? 0, confidence: d.bootstrap.confidence ?? 0.95 } }
      : {}),
  };
}

/**
 * Refuses monitoring options a probe cannot answer: recall@FPR and ROC need a binary classifier
 * with probabilities; the bootstrap needs a classifier.
 */
export function checkMonitoringFor(
  m: ResolvedMonitoring,
  task: "classification" | "regression",
  classes: number,
  proba: boolean,
): void {
  const asked = m.fpr.length > 0 ? "fpr" : m.roc ? "roc" : undefined;
  if (task === "regression" && (asked || m.bootstrap)) {
    const option = asked ?? "bootstrap";
    throw new InvalidOptionError(
      option,
      `The evaluate option "${option}" applies to classification probes; this probe does regression (R², MSE, MAE).`,
    );
  }
  if (!asked) return;
  if (classes !== 2)
    throw new InvalidOptionError(
      asked,
      `The evaluate option "${asked}" needs a binary probe (ROC curves rank one positive class); ` +
        `this probe has ${classes} classes. Drop "${asked}", or train one probe per class against the rest.`,
    );
  if (!proba)
    throw new InvalidOptionError(
      asked,
      `The evaluate option "${asked}" needs probabilities to rank prompts; this probe's classifier has none ` +
        '(use e.g. "logistic_regression").',
    );
}
