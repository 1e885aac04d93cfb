/**
 * @huggingface/hub, imported at first use. It loads ~20 modules (and WebAssembly for Xet) that a
 * run on a local folder, the embedded model or an attached daemon never needs; only a download does.
 */
let loading: Promise<typeof import("@huggingface/hub")> | undefined;

/** The @huggingface/hub module (imported once, on the first call). */
export function loadHub(): Promise<typeof import("@huggingface/hub")> {
  loading ??= import("@huggingface/hub");
  return loading;
}
