/**
 * The extraction session of one probe: the model and the activation cache resolved once per
 * remote setting (the probe's own, or a call's `remote` / `maxRetries` override), the layer plan
 * against the model's depth, and cache-aware extraction of a prompt list.
 */
import { ActivationCache } from "../cache/activation-cache.js";
import { isConversation, tokenRoles, type Prompt } from "../chat/chat-input.js";
import { requireChatTemplate } from "../chat/chat-template.js";
import { modelCacheKey } from "../cache/model-identity.js";
import { parseProbeOptions, type RemoteOptions, type ResolvedProbeOptions } from "../config/probe-options.js";
import { cacheMaxGb, defaultCacheDir } from "../env/paths.js";
import type { VectorPooling } from "../estimator/pooling.js";
import { InvalidInputError, InvalidOptionError, NotSupportedError } from "../errors.js";
import { resolveModel } from "../models/resolve-model.js";
import type { CallOptions } from "../types.js";
import type { PythonRuntime } from "../worker/python-runtime.js";
import { pooledActivations, type Activations, type SourceSettings } from "./activation-source.js";
import { planLayers, type LayerPlan } from "./layers.js";
import { checkRemoteKey, remoteJob } from "./remote-settings.js";

/** Per-call overrides of where extraction runs. */
export interface RemoteOverride {
  /** Python: `remote`. Run this call on NDIF (needs `backend: "nnsight"`), or locally with `false`. */
  remote?: boolean | RemoteOptions;
  /** Python: `max_retries`. Retries per remote batch for this call. */
  maxRetries?: number;
}

/** Options of one extraction call. */
export interface ExtractCall extends CallOptions, RemoteOverride {
  batchSize?: number;
  invalidateCache?: boolean;
  fullSequence?: boolean;
  cacheOnly?: boolean;
}

type Source = SourceSettings & { numLayers: number };

/** Model + cache resolution and extraction for one probe's options, on one runtime. */
export class ExtractionSession {
  readonly #sources = new Map<string, Promise<Source>>();
  #cache: ActivationCache | undefined;

  /** @throws {RemoteError} `REMOTE_AUTH` when remote runs are asked for without an NDIF key. */
  constructor(
    readonly options: Readonly<ResolvedProbeOptions>,
    readonly runtime: PythonRuntime,
  ) {
    checkRemoteKey(options, (name) => runtime.envValue(name));
  }

  /** Resolves the layer spec against the model's depth. */
  async plan(call: CallOptions & RemoteOverride): Promise<LayerPlan> {
    const { numLayers } = await this.settings(call);
    return planLayers(this.options.layers, numLayers, this.options.model!, this.options.autoCandidates);
  }

  /** Activations of `layers` for `prompts` (strings or conversations), through the cache. */
  async extract(
    prompts: Prompt[],
    layers: number[],
    pooling: VectorPooling | "sequence",
    call: ExtractCall,
  ): Promise<Activations> {
    const batchSize = call.batchSize ?? this.options.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new InvalidInputError("batchSize", "batchSize must be a positive integer.");
    const source = await this.chatSource(prompts, call);
    const roles = tokenRoles(this.options.tokens);
    return pooledActivations(source, { ...call, prompts, layers, pooling, batchSize, roles });
  }

  /**
   * The source for `prompts`: with conversations, the model's chat template hash is read (once) for
   * their cache keys, and a model without a template is refused before any request.
   */
  async chatSource(prompts: Prompt[], call: CallOptions & RemoteOverride): Promise<SourceSettings> {
    if (!prompts.some(isConversation)) return this.settings(call);
    // Remote runs need backend "nnsight": checking the backend refuses them too, before any worker starts.
    if (this.options.backend !== "local") {
      throw new NotSupportedError(
        "conversations",
        'Chat conversations are extracted by the local backend only: use backend: "local", ' +
          "or pass the rendered conversation as a plain string prompt.",
      );
    }
    const source = await this.settings(call);
    source.chatTemplate ??= requireChatTemplate(source.modelPath, this.options.model!);
    return source;
  }

  /** Closes the cache handle; the session reopens it on its next call (a shared runtime stays usable). */
  close(): void {
    this.#cache?.close();
    this.#cache = undefined;
    this.#sources.clear();
  }

  /**
   * The options a call runs with: the probe's own, or with the call's `remote` / `maxRetries`
   * overrides (validated like constructor options; the NDIF key is checked before anything starts).
   */
  private callOptions(call: RemoteOverride): Readonly<ResolvedProbeOptions> {
    if (call.remote === undefined && call.maxRetries === undefined) return this.options;
    const variant = parseProbeOptions({
      ...this.options,
      ...(call.remote !== undefined ? { remote: call.remote } : {}),
      ...(call.maxRetries !== undefined ? { maxRetries: call.maxRetries } : {}),
    });
    checkRemoteKey(variant, (name) => this.runtime.envValue(name));
    return variant;
  }

  /** Resolves the model and opens the cache once per remote setting (retried on the next call after a failure). */
  private settings(call: CallOptions & RemoteOverride): Promise<Source> {
    const o = this.callOptions(call);
    const key = o === this.options ? "" : JSON.stringify([o.remote, o.maxRetries]);
    const known = this.#sources.get(key);
    if (known) return known;
    const model = o.model;
    if (model === undefined) {
      throw new InvalidOptionError(
        "model",
        "This probe has no model: set the model option to extract activations, or use the *FromActivations methods.",
      );
    }
    const pending = this.resolve(o, model, call);
    this.#sources.set(key, pending);
    pending.catch(() => {
      if (this.#sources.get(key) === pending) this.#sources.delete(key);
    });
    return pending;
  }

  private async resolve(o: Readonly<ResolvedProbeOptions>, name: string, call: CallOptions): Promise<Source> {
    const { signal, onProgress } = call;
    const model = await resolveModel(name, {
      runtime: this.runtime,
      ...(o.revision ? { revision: o.revision } : {}),
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      weightless: o.remote !== false,
    });
    const dir = o.cacheDir === undefined ? defaultCacheDir() : o.cacheDir;
    const remote = remoteJob(o, model, dir, { ...process.env, NDIF_HOST: this.runtime.envValue("NDIF_HOST") });
    const settings: Source = {
      runtime: this.runtime,
      modelPath: model.path,
      dtype: o.dtype,
      device: o.device,
      groupByLength: o.groupByLength,
      numLayers: model.numLayers,
      backend: o.backend,
      ...(remote ? { remote } : {}),
    };
    if (dir !== null) {
      this.#cache ??= new ActivationCache(dir, { maxGb: cacheMaxGb() });
      const identity = remote
        ? { backend: "nnsight-ndif", dtype: "server-float16" }
        : { backend: o.backend, dtype: o.dtype };
      const { modelKey } = await modelCacheKey(model, identity, this.#cache);
      settings.cache = { store: this.#cache, modelKey, dtype: o.cacheDtype };
    }
    return settings;
  }
}
