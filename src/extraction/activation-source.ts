/**
 * Pooled activations for a probe, through the activation cache: hits are read (or derived from a
 * cached full sequence), only the missing prompts go to the worker, in chunks that are committed
 * to the cache one by one so an interrupted run resumes from what was stored. With everything
 * cached, no request reaches the worker at all (no model load).
 */
import type { VectorPooling } from "../estimator/pooling.js";
import { poolSequence } from "../estimator/sequence-pooling.js";
import { InvalidInputError } from "../errors.js";
import type { ActivationCache, NewEntry } from "../cache/activation-cache.js";
import type { CacheDtype } from "../cache/half-float.js";
import { isConversation, promptKey, promptLength, type Prompt } from "../chat/chat-input.js";
import type { ExtractSpec } from "../protocol/extract.js";
import type { RemoteJob } from "../protocol/remote.js";
import type { CallOptions, ProgressEvent } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { ActivationOutput } from "./activation-output.js";
import { coalescedExtract, type ExtractedShare } from "./coalescer.js";

/** Where and how a probe's activations are extracted and cached. */
export interface SourceSettings {
  runtime: PythonRuntime;
  modelPath: string;
  dtype: string;
  device: string;
  /** Batch by token length (true) or in input order, like lmprobe (false). */
  groupByLength: boolean;
  /** "local" (transformers hooks) or "nnsight"; with `remote`, the NDIF job settings (worker protocol). */
  backend?: string;
  remote?: RemoteJob;
  cache?: { store: ActivationCache; modelKey: string; dtype: CacheDtype };
  /** Hash of the model's chat template (part of conversations' cache keys); undefined: none. */
  chatTemplate?: string;
}

/** One extraction: prompts × layers, pooled one way. */
export interface ActivationRequest extends CallOptions {
  /** Strings, or chat conversations (rendered by the worker with the model's chat template). */
  prompts: Prompt[];
  /** Conversations: pool only these roles' message-content tokens (null or absent: every token). */
  roles?: string[] | null;
  layers: number[];
  /** A vector pooling, or "sequence" for every real token's activations. */
  pooling: VectorPooling | "sequence";
  batchSize: number;
  /** Ignore cached entries and overwrite them. */
  invalidateCache?: boolean;
  /** Also store every token's activations (unpadded), from which any pooling can be derived later. */
  fullSequence?: boolean;
  /** Only fill the cache (warmup): nothing is assembled, so memory stays at one chunk. */
  cacheOnly?: boolean;
}

/** Where the time of one extraction went (seconds, reported by the worker). */
export interface ExtractionProfile {
  /** Distinct prompts asked for, and how many of them came from the cache. */
  prompts: number;
  cachedPrompts: number;
  /** Real tokens that went through the model. */
  tokens: number;
  /** Loading the model (0 when it was already loaded). */
  modelLoadSeconds: number;
  /** Inside the model's forward calls. */
  forwardSeconds: number;
  /** The worker's whole handling of the extract requests. */
  workerSeconds: number;
}

/** Pooled activations (n, layers, hidden) float32, with how they were obtained. */
export interface Activations {
  data: Float32Array;
  n: number;
  hidden: number;
  /** Sequence requests: each prompt's real tokens in (tokens, layers, hidden), token-major; `data` is then empty. */
  sequences?: Float32Array[];
  cachedPrompts: number;
  profile: ExtractionProfile;
}

/**
 * Prompts per worker request (a multiple of the batch size, so batches match uncached runs); on Ray,
 * at least two batches per actor, so that every actor has shards to run.
 */
function chunkSize(batchSize: number, actors = 1): number {
  return batchSize * Math.max(1, Math.ceil(64 / batchSize), actors > 1 ? 2 * actors : 1);
}

/**
 * A worker's `InvalidInputError` names a prompt by its index in the request it got: a chunk of the
 * deduplicated, uncached, length-sorted prompts. Renumbers it in the caller's own prompt list.
 */
function inCallerOrder(err: unknown, sent: Prompt[], prompts: Prompt[]): unknown {
  if (!(err instanceof InvalidInputError) || err.argument !== "prompts" || err.index === undefined) return err;
  const text = sent[err.index];
  const at = text === undefined ? -1 : prompts.indexOf(text);
  if (at < 0 || at === err.index) return err;
  const message = err.message.replace(new RegExp(`^prompt ${err.index}\\b`), `prompt ${at}`);
  return new InvalidInputError("prompts", message, { index: at, cause: err });
}

/**
 * Pooled activations for `req`: cache hits read (or derived from cached full sequences), the rest
 * extracted by the worker in chunks committed to the cache one by one (a rerun resumes there).
 */
export async function pooledActivations(settings: SourceSettings, req: ActivationRequest): Promise<Activations> {
  const { layers, pooling } = req;
  const roles = req.roles ?? null;
  // A conversation's key covers the chat template and the role mask (see chat-input.ts).
  const hashes = req.prompts.map((p) => promptKey(p, settings.chatTemplate, roles));
  const rowsOf = new Map<string, number[]>();
  hashes.forEach((h, i) => rowsOf.set(h, [...(rowsOf.get(h) ?? []), i]));
  const unique = [...rowsOf.keys()];
  const textOf = new Map(hashes.map((h, i) => [h, req.prompts[i]!]));
  const output = new ActivationOutput(rowsOf, req.prompts.length, layers.length, req.cacheOnly !== true);
  const cache = settings.cache;
  const sequenceMode = pooling === "sequence";
  // undefined: every token is extracted (a sequence request, or a warmup that caches full sequences).
  const vectorPooling = sequenceMode || req.fullSequence === true ? undefined : pooling;
  if (cache && !req.invalidateCache) {
    layers.forEach((layer, li) => {
      if (sequenceMode) {
        for (const [h, seq] of cache.store.getMany(cache.modelKey, unique, layer, "full", cache.dtype))
          output.placeSequence(h, li, seq);
        return;
      }
      for (const [h, v] of cache.store.getMany(cache.modelKey, unique, layer, pooling, cache.dtype))
        output.place(h, li, v.data);
      const rest = unique.filter((h) => !output.found[li]!.has(h));
      if (rest.length === 0) return;
      for (const [h, seq] of cache.store.getMany(cache.modelKey, rest, layer, "full", cache.dtype))
        output.place(h, li, poolSequence(seq, pooling));
    });
  }
  const missing = unique.filter((h) => output.found.some((m) => !m.has(h)));
  // Similar lengths in the same chunk let the worker's length grouping cut padding across chunks too
  // (character length is a good enough proxy for token length here; the worker sorts by tokens).
  if (settings.groupByLength) missing.sort((a, b) => promptLength(textOf.get(a)!) - promptLength(textOf.get(b)!));
  const cachedPrompts = unique.length - missing.length;
  const profile: ExtractionProfile = {
    prompts: unique.length,
    cachedPrompts,
    tokens: 0,
    modelLoadSeconds: 0,
    forwardSeconds: 0,
    workerSeconds: 0,
  };

  // A daemon or served worker tells its Ray actor count only in its handshake, and chunks are sized by it.
  if (missing.length > 0 && !settings.remote && !req.signal?.aborted) await settings.runtime.ready(req.onProgress);
  const step = chunkSize(req.batchSize, settings.runtime.rayWorkers);
  const chunks: string[][] = [];
  for (let start = 0; start < missing.length; start += step) chunks.push(missing.slice(start, start + step));
  // Remote: each chunk is one NDIF job; a short last chunk rides with the one before (≥ 64 prompts a job).
  if (settings.remote && chunks.length > 1 && chunks.at(-1)!.length < step) {
    const tail = chunks.pop()!;
    chunks.push([...chunks.pop()!, ...tail]);
  }
  // With several chunks in flight, a failure of one cancels the others (and so does the caller's signal).
  const stop = settings.remote ? new AbortController() : undefined;
  const signal = stop ? AbortSignal.any([stop.signal, ...(req.signal ? [req.signal] : [])]) : req.signal;
  // Prompts done per chunk: with several chunks in flight (remote) progress stays a running total.
  const doneIn = chunks.map(() => 0);
  const send = (k: number) => {
    const onProgress = req.onProgress
      ? (e: ProgressEvent) => {
          if (e.type !== "extract") return req.onProgress!(e);
          doneIn[k] = e.completed;
          const completed = cachedPrompts + doneIn.reduce((a, b) => a + b, 0);
          req.onProgress!({ ...e, completed, total: unique.length, cached: cachedPrompts });
        }
      : undefined;
    const sent = chunks[k]!.map((h) => textOf.get(h)!);
    const spec: ExtractSpec = {
      model: settings.modelPath,
      prompts: sent,
      layers,
      pooling: vectorPooling ?? "none",
      batchSize: req.batchSize,
      groupByLength: settings.groupByLength,
      dtype: settings.dtype,
      device: settings.device,
      backend: settings.backend,
      remote: settings.remote,
      ...(roles && sent.some(isConversation) ? { roles } : {}),
    };
    // Concurrent calls' short chunks of the same settings share one request (see coalescer.ts).
    return coalescedExtract(settings.runtime, spec, step, {
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    }).catch((err: unknown) => {
      throw inCallerOrder(err, sent, req.prompts);
    });
  };
  // Pipelined: the next chunk is already queued in the worker while this one is written to the
  // cache, so cache writes hide behind the forward pass. Remote chunks wait on NDIF, not on this
  // machine: several are in flight (the worker runs them side by side), committed in order.
  const window = settings.remote ? settings.remote.chunksInFlight : 1;
  const inFlight: Array<Promise<ExtractedShare>> = [];
  let sentChunks = 0;
  const fill = () => {
    while (sentChunks < chunks.length && inFlight.length < window) inFlight.push(send(sentChunks++));
  };
  fill();
  try {
    for (let k = 0; k < chunks.length; k++) {
      const result = await inFlight.shift()!;
      fill();
      store(result, chunks[k]!);
    }
  } catch (err) {
    for (const p of inFlight) p.catch(() => undefined); // abandoned: their outcome no longer matters
    if (inFlight.length > 0) stop?.abort(err);
    throw err;
  }

  /** Records one chunk's result: profile, output rows, cache entries. */
  function store(extracted: ExtractedShare, chunk: string[]): void {
    const { data, width, lengths, tokens, seconds, owned } = extracted;
    profile.tokens += tokens;
    profile.modelLoadSeconds += seconds.load;
    profile.forwardSeconds += seconds.forward;
    profile.workerSeconds += seconds.total;
    const entries: NewEntry[] = [];
    const L = layers.length;
    if (vectorPooling === undefined) {
      let row = 0;
      chunk.forEach((h, i) => {
        const rows = lengths[i]!;
        layers.forEach((layer, li) => {
          const seq = new Float32Array(rows * width);
          for (let r = 0; r < rows; r++)
            seq.set(data.subarray(((row + r) * L + li) * width, ((row + r) * L + li + 1) * width), r * width);
          const values = { rows, dim: width, data: seq };
          entries.push({ promptHash: h, layer, kind: "full", ...values });
          if (sequenceMode) output.placeSequence(h, li, values);
          else output.place(h, li, poolSequence(values, pooling));
        });
        row += rows;
      });
    } else {
      chunk.forEach((h, i) => {
        layers.forEach((layer, li) => {
          // A view, not a copy: place() and the cache write copy it.
          const vec = data.subarray((i * L + li) * width, (i * L + li + 1) * width);
          entries.push({ promptHash: h, layer, kind: vectorPooling, rows: 1, dim: width, data: vec });
          output.place(h, li, vec);
        });
      });
    }
    // A prompt another caller of the same coalesced request also asked for is cached by that caller alone.
    const ownedHashes = owned ? new Set(chunk.filter((_, i) => owned[i])) : undefined;
    const mine = ownedHashes ? entries.filter((e) => ownedHashes.has(e.promptHash)) : entries;
    cache?.store.putMany(cache.modelKey, mine, cache.dtype);
  }
  if (missing.length === 0)
    req.onProgress?.({
      type: "extract",
      completed: unique.length,
      total: unique.length,
      tokens: 0,
      cached: cachedPrompts,
    });

  if (req.cacheOnly)
    return {
      data: new Float32Array(0),
      ...(sequenceMode ? { sequences: [] } : {}),
      n: req.prompts.length,
      hidden: output.hidden,
      cachedPrompts,
      profile,
    };
  if (sequenceMode) {
    return {
      data: new Float32Array(0),
      sequences: output.assembleSequences(hashes),
      n: req.prompts.length,
      hidden: output.hidden,
      cachedPrompts,
      profile,
    };
  }
  return { data: output.data!, n: req.prompts.length, hidden: output.hidden, cachedPrompts, profile };
}
