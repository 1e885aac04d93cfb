/**
 * The ensemble's warm-up (lmprobe's `_warmup_cache`): before members fit or predict, the prompts
 * are extracted once for the union of the layers of every member that reads the same model the
 * same way (pooling, batch size, dtype, device, cache...), in input order, into the shared
 * activation cache. Each member then reads its layers from the cache, so a bootstrap's resamples
 * and a fromConfigs ensemble's layer choices cost one forward pass per prompt batch, and every
 * member sees the activations of the same batches lmprobe's members see.
 */
import type { Prompt } from "../chat/chat-input.js";
import type { ProbeOptions } from "../config/probe-options.js";
import { ProbeCore } from "../probe/core.js";
import type { Probe, WarmupOptions } from "../probe/probe.js";
import { warmup } from "../probe/training.js";

/** Options that decide which activations a member reads, apart from its layers. */
const SETTING_KEYS = [
  "model",
  "revision",
  "pooling",
  "trainPooling",
  "inferencePooling",
  "batchSize",
  "dtype",
  "device",
  "backend",
  "remote",
  "groupByLength",
  "cacheDir",
  "cacheDtype",
] as const;

interface Group {
  members: Probe[];
  warm?: Promise<ProbeCore>;
}

/** One warm-up extraction per group of members with the same settings. */
export class SharedExtraction {
  readonly #groups: Group[] = [];

  constructor(probes: readonly Probe[]) {
    const byKey = new Map<string, Group>();
    for (const p of probes) {
      if (p.options.cacheDir === null) continue; // nothing to share without a cache
      const key = JSON.stringify(SETTING_KEYS.map((k) => p.options[k] ?? null));
      let group = byKey.get(key);
      if (!group) byKey.set(key, (group = { members: [] }));
      group.members.push(p);
    }
    this.#groups = [...byKey.values()];
  }

  /** Extracts `prompts` into the cache for every group (a no-op for prompts already cached). */
  async warm(prompts: Prompt[], options: WarmupOptions): Promise<void> {
    for (const group of this.#groups) {
      group.warm ??= this.#unionCore(group, options);
      group.warm.catch(() => {
        group.warm = undefined; // retried on the next call
      });
      await warmup(await group.warm, prompts, options);
    }
  }

  /** Closes the warm-up sessions' cache handles (the members' runtime is theirs). */
  async close(): Promise<void> {
    for (const group of this.#groups) {
      const core = await group.warm?.catch(() => undefined);
      core?.session.close();
      group.warm = undefined;
    }
  }

  /** A core reading the union of the group's layers (each member's plan resolved against the model). */
  async #unionCore(group: Group, options: WarmupOptions): Promise<ProbeCore> {
    const layers = new Set<number>();
    for (const p of group.members) {
      const core = new ProbeCore({ ...p.options, runtime: p.runtime } as ProbeOptions);
      try {
        const plan = await core.session.plan(options);
        for (const l of "candidates" in plan ? plan.candidates : plan.layers) layers.add(l);
      } finally {
        core.session.close();
      }
    }
    const first = group.members[0]!;
    const union = [...layers].sort((a, b) => a - b);
    return new ProbeCore({ ...first.options, layers: union, runtime: first.runtime } as ProbeOptions);
  }
}
