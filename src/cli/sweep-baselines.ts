/**
 * `lmprobe sweep --baselines [LIST]`: lmprobe's baseline battery on the sweep's own train/test
 * split (text baselines on the prompts, activation baselines at the sweep's best layer), so the
 * report can show whether the probe beats a bag-of-words or a random direction on the same data.
 */
import { BaselineBattery } from "../baselines/baseline-battery.js";
import {
  ACTIVATION_BASELINES,
  BASELINE_METHODS,
  isActivationBaseline,
  type BaselineMethod,
} from "../baselines/baseline-options.js";
import type { ClassifierName } from "../config/probe-options.js";
import { InvalidOptionError } from "../errors.js";
import type { Pooling } from "../estimator/pooling.js";
import type { SweepBaselines, SweepResults } from "../report/sweep-results.js";
import type { CallOptions } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import type { LabelledSet } from "./sweep-data.js";

/** What `--baselines` without a list runs: lmprobe's default battery (every baseline but shuffled_labels). */
export const DEFAULT_SWEEP_BASELINES: readonly BaselineMethod[] = BASELINE_METHODS.filter(
  (m) => m !== "shuffled_labels",
);

/** Poolings the activation baselines support (lmprobe's `ActivationBaseline`). */
const BASELINE_POOLINGS = ["last_token", "first_token", "mean"] as const;

/**
 * Rewrites a bare `--baselines` (last, or followed by another option) to `--baselines=default`,
 * since node's parseArgs has no optional option values.
 */
export function bareBaselinesFlag(args: string[]): string[] {
  const end = args.indexOf("--");
  return args.map((a, i) =>
    a === "--baselines" && (end === -1 || i < end) && (i + 1 >= args.length || args[i + 1]!.startsWith("-"))
      ? "--baselines=default"
      : a,
  );
}

/**
 * The `--baselines` list: names separated by commas, or "default" (text + activation baselines,
 * shuffled_labels left out) or "all". Activation baselines need a pooling they support: listed by
 * name they refuse another pooling; "default" then leaves them out (and says so in `dropped`).
 */
export function baselineList(
  value: string | undefined,
  pooling: Pooling,
): { names: BaselineMethod[]; dropped: BaselineMethod[] } | undefined {
  if (value === undefined) return undefined;
  const names = new Set<BaselineMethod>();
  let explicit = false;
  for (const raw of value.split(",").map((s) => s.trim())) {
    if (raw === "default") DEFAULT_SWEEP_BASELINES.forEach((m) => names.add(m));
    else if (raw === "all") BASELINE_METHODS.forEach((m) => names.add(m));
    else if ((BASELINE_METHODS as readonly string[]).includes(raw)) {
      names.add(raw as BaselineMethod);
      if (isActivationBaseline(raw as BaselineMethod)) explicit = true;
    } else
      throw new InvalidOptionError(
        "--baselines",
        `--baselines: unknown baseline ${JSON.stringify(raw)}; use default, all, or names from ` +
          `${BASELINE_METHODS.join(", ")} (comma-separated).`,
      );
  }
  const ordered = BASELINE_METHODS.filter((m) => names.has(m));
  if ((BASELINE_POOLINGS as readonly string[]).includes(String(pooling))) return { names: ordered, dropped: [] };
  if (explicit)
    throw new InvalidOptionError(
      "--baselines",
      `--baselines ${ACTIVATION_BASELINES.filter((m) => names.has(m)).join(",")} pool activations with ` +
        `${BASELINE_POOLINGS.join(" | ")}; --pooling ${String(pooling)} is not one of them. ` +
        "Use one of those poolings, or list only text baselines.",
    );
  return { names: ordered.filter((m) => !isActivationBaseline(m)), dropped: ordered.filter(isActivationBaseline) };
}

/** Runs the battery on the sweep's split; activation baselines read `layer` (the sweep's best). */
export async function runSweepBaselines(input: {
  names: BaselineMethod[];
  model: string;
  layer: number;
  pooling: Pooling;
  classifier: ClassifierName;
  seed: number;
  runtime: PythonRuntime;
  train: LabelledSet;
  test: LabelledSet;
  call: CallOptions & { batchSize?: number };
}): Promise<SweepBaselines> {
  const { call, names } = input;
  const activation = names.some(isActivationBaseline);
  const pooling = activation ? (input.pooling as (typeof BASELINE_POOLINGS)[number]) : "last_token";
  await using battery = new BaselineBattery({
    model: input.model,
    layers: input.layer,
    pooling,
    classifier: input.classifier,
    randomState: input.seed,
    runtime: input.runtime,
    include: names,
    ...(call.batchSize !== undefined ? { batchSize: call.batchSize } : {}),
  });
  const { batchSize: _b, ...callOptions } = call;
  const table = await battery.run(input.train, input.test, callOptions);
  return { ...table, layer: activation ? input.layer : null, pooling: String(pooling) };
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(3));

/** The terminal table: the best layer's probe first, then each baseline, then the skipped ones. */
export function baselineTerminalTable(results: SweepResults): string {
  const b = results.baselines;
  if (!b) return "";
  const best = results.bestLayer;
  const at = b.layer !== null ? `, activation baselines at layer ${b.layer}` : "";
  const line = (name: string, kind: string, acc: number | null, auroc: number | null) =>
    `${name.padEnd(18)}${kind.padEnd(12)}${fmt(acc).padStart(8)}${fmt(auroc).padStart(8)}`;
  return [
    `baselines (test set${at}):`,
    `${"".padEnd(18)}${"kind".padEnd(12)}${"accuracy".padStart(8)}${"AUROC".padStart(8)}`,
    line(`probe (layer ${best.layer})`, "probe", best.test.accuracy, best.test.auroc),
    ...b.rows.map((r) => line(r.name, r.kind, r.accuracy, r.auroc)),
    ...b.skipped.map((s) => `skipped ${s.name}: ${s.code ? `[${s.code}] ` : ""}${s.message}`),
  ].join("\n");
}
