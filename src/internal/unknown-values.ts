/**
 * Narrowing `unknown` values (caught errors, parsed JSON) with type guards instead of casts, so a
 * value that is not what we expect is handled instead of silently mistyped.
 */

/** True for a non-null, non-array object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The message of a caught error (or its string form). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `code` of a caught Node.js system error (`ENOENT`, `EACCES`, ...), if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = isRecord(err) ? err.code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** True when `value` is one of `list` (narrows to the list's element type). */
export function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return list.some((item) => item === value);
}

/** Parses JSON text that must hold an object; throws SyntaxError otherwise. */
export function parseJsonObject(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  if (!isRecord(value)) throw new SyntaxError("expected a JSON object");
  return value;
}
