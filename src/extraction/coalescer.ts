/**
 * Coalescing of concurrent extractions on one runtime: the extract requests that arrive within a
 * short window (`coalesceMs`) for the same model, settings, layers, pooling and batch size are
 * merged into one request (duplicate prompts sent once), and each caller gets back its own rows.
 * Sixty-four concurrent one-prompt predictions then cost one forward pass of 64 prompts instead of
 * 64 of one. A caller that aborts before the merged request is sent takes its prompts out of it;
 * after that, it only abandons its share (the others' results still come), and the request itself
 * is cancelled only when every caller has gone.
 */
import { AbortError, InvalidInputError } from "../errors.js";
import { extractedFromWire, extractToWire, type Extracted, type ExtractSpec } from "../protocol/extract.js";
import type { ProgressEvent } from "../types.js";
import type { CallSettings, PythonRuntime } from "../worker/python-runtime.js";

/** One caller's result: its prompts' rows, and which of them it must commit to the cache. */
export interface ExtractedShare extends Extracted {
  /** owned[i]: prompt i is this caller's to cache (false where another caller of the merge sent it first). */
  owned?: boolean[];
}

interface Share {
  prompts: string[];
  settings: CallSettings;
  resolve: (value: ExtractedShare) => void;
  reject: (err: unknown) => void;
  settled: boolean;
  detach: () => void;
}

interface Group {
  key: string;
  spec: ExtractSpec;
  cap: number;
  shares: Share[];
  distinct: Set<string>;
  timer: NodeJS.Timeout | undefined;
  sent: boolean;
  stop: AbortController;
}

/** The coalescer of one runtime. */
class Coalescer {
  /** Extract requests sent to the worker, merged or not (tests count them). */
  sent = 0;
  readonly #open = new Map<string, Group>();
  constructor(private readonly runtime: PythonRuntime) {}

  extract(spec: ExtractSpec, cap: number, settings: CallSettings): Promise<ExtractedShare> {
    const windowMs = this.runtime.coalesceMs;
    // Remote jobs are already sized by the caller (≥ 64 prompts a job); a full chunk gains nothing by waiting.
    // Conversations are sent as they come: merging keys on prompt text (they are rare next to strings).
    const texts = spec.prompts.every((p) => typeof p === "string") ? (spec.prompts as string[]) : undefined;
    if (windowMs <= 0 || spec.remote || !texts || texts.length >= cap) return this.direct(spec, settings);
    if (settings.signal?.aborted) return Promise.reject(new AbortError({ cause: settings.signal.reason }));
    const key = JSON.stringify([
      spec.model,
      spec.layers,
      spec.pooling,
      spec.batchSize,
      spec.groupByLength,
      spec.dtype,
      spec.device,
      spec.backend ?? null,
      cap,
    ]);
    let group = this.#open.get(key);
    if (group && group.distinct.size + texts.filter((p) => !group!.distinct.has(p)).length > cap) {
      this.flush(group);
      group = undefined;
    }
    if (!group) {
      group = {
        key,
        spec,
        cap,
        shares: [],
        distinct: new Set(),
        timer: undefined,
        sent: false,
        stop: new AbortController(),
      };
      const g = group;
      group.timer = setTimeout(() => this.flush(g), windowMs);
      this.#open.set(key, group);
    }
    const g = group;
    return new Promise<ExtractedShare>((resolve, reject) => {
      const share: Share = {
        prompts: texts,
        settings,
        resolve,
        reject,
        settled: false,
        detach: () => undefined,
      };
      const signal = settings.signal;
      if (signal) {
        const onAbort = () => this.abandon(g, share, new AbortError({ cause: signal.reason }));
        signal.addEventListener("abort", onAbort, { once: true });
        share.detach = () => signal.removeEventListener("abort", onAbort);
      }
      g.shares.push(share);
      for (const p of texts) g.distinct.add(p);
      if (g.distinct.size >= cap) this.flush(g);
    });
  }

  /** One request for one caller, as without coalescing. */
  private async direct(spec: ExtractSpec, settings: CallSettings): Promise<ExtractedShare> {
    this.sent++;
    return extractedFromWire(await this.runtime.call("extract", extractToWire(spec), settings));
  }

  /** A caller gave up: before sending, its prompts leave the merge; after, it only stops waiting. */
  private abandon(group: Group, share: Share, err: AbortError): void {
    if (share.settled) return;
    settle(share, () => share.reject(err));
    if (!group.sent) {
      group.shares = group.shares.filter((s) => s !== share);
      group.distinct = new Set(group.shares.flatMap((s) => s.prompts));
      if (group.shares.length === 0) {
        clearTimeout(group.timer);
        if (this.#open.get(group.key) === group) this.#open.delete(group.key);
      }
    } else if (group.shares.every((s) => s.settled)) {
      group.stop.abort(err);
    }
  }

  private flush(group: Group): void {
    clearTimeout(group.timer);
    if (this.#open.get(group.key) === group) this.#open.delete(group.key);
    if (group.sent || group.shares.length === 0) return;
    group.sent = true;
    const shares = group.shares;
    if (shares.length === 1) {
      const only = shares[0]!;
      this.direct({ ...group.spec, prompts: only.prompts }, only.settings).then(
        (value) => settle(only, () => only.resolve(value)),
        (err: unknown) => settle(only, () => only.reject(err)),
      );
      return;
    }
    const prompts = [...group.distinct];
    this.sent++;
    this.runtime
      .call("extract", extractToWire({ ...group.spec, prompts }), {
        signal: group.stop.signal,
        onProgress: (e) => forwardProgress(shares, prompts.length, e),
      })
      .then(
        (reply) => split(shares, prompts, group.spec.pooling === "none", extractedFromWire(reply)),
        (err: unknown) => this.failed(group, prompts, err),
      )
      // Never leave a caller waiting, whatever went wrong while routing the rows.
      .catch((err: unknown) => {
        for (const share of shares) settle(share, () => share.reject(err));
      });
  }

  /**
   * The merged request failed. A prompt the worker refused fails only the callers that asked for it
   * (with its index in their own list); the others are resent on their own. Any other failure is everyone's.
   */
  private failed(group: Group, prompts: string[], err: unknown): void {
    const bad =
      err instanceof InvalidInputError && err.argument === "prompts" && err.index !== undefined
        ? prompts[err.index]
        : undefined;
    for (const share of group.shares) {
      if (share.settled) continue;
      const at = bad === undefined ? -1 : share.prompts.indexOf(bad);
      if (bad === undefined) settle(share, () => share.reject(err));
      else if (at >= 0) settle(share, () => share.reject(reindexed(err as InvalidInputError, at)));
      else
        this.direct({ ...group.spec, prompts: share.prompts }, share.settings).then(
          (value) => settle(share, () => share.resolve(value)),
          (e: unknown) => settle(share, () => share.reject(e)),
        );
    }
  }
}

/** Resolves or rejects a share once, and stops listening to its signal. */
function settle(share: Share, action: () => void): void {
  if (share.settled) return;
  share.settled = true;
  share.detach();
  action();
}

/** Each caller sees progress over its own prompts (scaled: the worker counts the merged request's). */
function forwardProgress(shares: Share[], total: number, e: ProgressEvent): void {
  for (const share of shares) {
    if (share.settled || !share.settings.onProgress) continue;
    const n = share.prompts.length;
    const event: ProgressEvent =
      e.type === "extract" ? { ...e, completed: Math.floor((e.completed * n) / total), total: n } : e;
    try {
      share.settings.onProgress(event);
    } catch {
      // A throwing progress callback must never fail the call (nor another caller's).
    }
  }
}

/** Routes the merged reply's rows to each caller, in the caller's prompt order. */
function split(shares: Share[], prompts: string[], perToken: boolean, all: Extracted): void {
  const blocks = new Map<string, { start: number; rows: number }>();
  let row = 0;
  // Vector poolings give one row per prompt; "none" gives each prompt's real tokens.
  prompts.forEach((p, i) => {
    const rows = perToken ? all.lengths[i]! : 1;
    blocks.set(p, { start: row, rows });
    row += rows;
  });
  const index = new Map(prompts.map((p, i) => [p, i]));
  const stride = all.data.length / Math.max(1, row);
  const owner = new Map<string, Share>();
  for (const share of shares) for (const p of share.prompts) if (!owner.has(p)) owner.set(p, share);
  for (const share of shares) {
    if (share.settled) continue;
    const mine = share.prompts.map((p) => blocks.get(p)!);
    const data = new Float32Array(sum(mine.map((b) => b.rows)) * stride);
    let at = 0;
    for (const b of mine) {
      data.set(all.data.subarray(b.start * stride, (b.start + b.rows) * stride), at);
      at += b.rows * stride;
    }
    const lengths = all.lengths.length === prompts.length ? share.prompts.map((p) => all.lengths[index.get(p)!]!) : [];
    const owned = share.prompts.map((p) => owner.get(p) === share);
    // Tokens this caller put through the model (the prompts it owns), so a merge's total is not counted twice.
    const tokens = lengths.length > 0 ? sum(lengths.filter((_, i) => owned[i])) : 0;
    const value = { data, width: all.width, lengths, tokens, seconds: all.seconds, owned };
    settle(share, () => share.resolve(value));
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function reindexed(err: InvalidInputError, at: number): InvalidInputError {
  const message = err.message.replace(new RegExp(`^prompt ${err.index}\\b`), `prompt ${at}`);
  return new InvalidInputError("prompts", message, { index: at, cause: err });
}

const coalescers = new WeakMap<PythonRuntime, Coalescer>();

function coalescerOf(runtime: PythonRuntime): Coalescer {
  let c = coalescers.get(runtime);
  if (!c) {
    c = new Coalescer(runtime);
    coalescers.set(runtime, c);
  }
  return c;
}

/**
 * Extracts `spec` on `runtime`, merged with the concurrent requests of the same settings (up to
 * `cap` distinct prompts a request) unless the runtime's `coalesceMs` is 0.
 */
export function coalescedExtract(
  runtime: PythonRuntime,
  spec: ExtractSpec,
  cap: number,
  settings: CallSettings,
): Promise<ExtractedShare> {
  return coalescerOf(runtime).extract(spec, cap, settings);
}

/**
 * Extract requests this runtime has sent to its worker.
 * @internal Tests count requests with it.
 */
export function extractRequestsSent(runtime: PythonRuntime): number {
  return coalescers.get(runtime)?.sent ?? 0;
}
