/**
 * The optional peer dependencies of `lmprobe-ts/native`, loaded on first use by dynamic import:
 * the main package installs and imports without them. The shapes below are the few members the
 * runtime uses, declared here so the published declarations never name the packages' own types
 * (a consumer without them installed still compiles).
 */
import { MissingDependencyError } from "../errors.js";
import { errorCode } from "../internal/unknown-values.js";

/** The ONNX Runtime package the native runtime runs the model with. */
export const ORT_PACKAGE = "onnxruntime-node";
/** The tokenizer package (tokenizers.js) the native runtime tokenizes with. */
export const TOKENIZERS_PACKAGE = "@huggingface/tokenizers";

/** An onnxruntime tensor, as far as the runtime reads it. */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
  dispose?(): void;
}

/** An onnxruntime inference session. */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>, fetches?: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** Options of `InferenceSession.create` the runtime sets. */
export interface OrtSessionOptions {
  executionProviders: string[];
  graphOptimizationLevel: "all";
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  logSeverityLevel: 0 | 1 | 2 | 3 | 4;
  /** Session config entries, nested by their dotted keys (e.g. session.intra_op.allow_spinning). */
  extra?: Record<string, unknown>;
}

/** The onnxruntime-node module. */
export interface OrtModule {
  InferenceSession: { create(path: string, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: "int64", data: BigInt64Array, dims: readonly number[]) => OrtTensor;
}

/** A tokenizers.js tokenizer, as far as the runtime uses it. */
export interface HfTokenizer {
  /** Its pre-tokenizer and normalizer objects (their compiled patterns are adjusted, see whitespace-regex.ts). */
  pre_tokenizer: unknown;
  normalizer: unknown;
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
}

/** The @huggingface/tokenizers module. */
export interface TokenizersModule {
  Tokenizer: new (tokenizerJson: object, config: object) => HfTokenizer;
}

/** Both dependencies, loaded. */
export interface NativeDeps {
  ort: OrtModule;
  tokenizers: TokenizersModule;
}

/** Imports a module by name (the default: Node's own resolution from this package). */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

const nodeImport: ModuleImporter = (specifier) => import(specifier);

/** True when `err` says that `name` itself could not be found (not a failure inside it). */
function isNotFound(err: unknown, name: string): boolean {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  // "Cannot find package 'X' imported from ...": X itself, not a package X imports (whose path,
  // after "imported from", names X too).
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  const isMissing = missing === name || missing?.startsWith(`${name}/`) === true;
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && isMissing;
}

/** A CommonJS package imported from ESM puts its exports on `default` (named ones are best effort). */
function exportsOf(mod: unknown): Record<string, unknown> {
  const m = mod as Record<string, unknown>;
  const d = m.default as Record<string, unknown> | undefined;
  return d && typeof d === "object" && !("Tokenizer" in m) && !("InferenceSession" in m) ? d : m;
}

/**
 * Loads onnxruntime-node and @huggingface/tokenizers.
 * @throws {MissingDependencyError} naming every one that is not installed, and the `npm install` line.
 */
export async function loadNativeDeps(importer: ModuleImporter = nodeImport): Promise<NativeDeps> {
  const missing: string[] = [];
  const load = async (name: string): Promise<Record<string, unknown> | undefined> => {
    try {
      return exportsOf(await importer(name));
    } catch (err) {
      if (!isNotFound(err, name)) throw err; // installed but broken: its own error says more
      missing.push(name);
      return undefined;
    }
  };
  const [ort, tokenizers] = await Promise.all([load(ORT_PACKAGE), load(TOKENIZERS_PACKAGE)]);
  if (missing.length) throw new MissingDependencyError("lmprobe-ts/native", missing.sort());
  return { ort: ort as unknown as OrtModule, tokenizers: tokenizers as unknown as TokenizersModule };
}
