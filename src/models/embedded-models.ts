/** Embedded models: names only, so option parsing can check them without loading the resolver. */

/** Embedded models the SDK can build offline from a PyPI package. */
export const EMBEDDED_MODELS = ["smollm2-135m"] as const;

/** Prefix of an embedded model name (`"embedded:smollm2-135m"`). */
export const EMBEDDED_PREFIX = "embedded:";

/** True for a known embedded model name without the prefix. */
export function isEmbeddedModel(name: string): boolean {
  return EMBEDDED_MODELS.some((m) => m === name);
}
