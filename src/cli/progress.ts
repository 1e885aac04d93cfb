/**
 * Progress of the command line, fed by the library's own `onProgress` events: live bars
 * (cli-progress) for extractions and a sweep's per-layer fits when stderr is a terminal, one
 * line per phase when it is not (logs, CI), nothing when asked to be quiet (`--json`).
 */
import cliProgress from "cli-progress";
import type { ProgressEvent } from "../types.js";

/** How progress is shown: live bars, one line per phase, or not at all. */
export type ProgressMode = "bars" | "lines" | "quiet";

/** Where progress goes: stderr, or any writable (tests). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** Bars on a terminal, lines elsewhere, nothing when `quiet` (e.g. `--json`) or `LMPROBE_PROGRESS=0`. */
export function progressMode(stream: ProgressStream, quiet = false, env = process.env): ProgressMode {
  if (quiet || env.LMPROBE_PROGRESS === "0") return "quiet";
  return stream.isTTY ? "bars" : "lines";
}

/** A bar in progress: its phase ("extract", "fit layers") and the multibar drawing it. */
interface LiveBar {
  phase: string;
  total: number;
  multibar: cliProgress.MultiBar;
  bar: cliProgress.SingleBar;
}

/** What one phase line says about an event (undefined: no line of its own). */
function phaseLine(e: ProgressEvent): string | undefined {
  switch (e.type) {
    case "setup":
      return `setup: ${e.message}`;
    case "worker":
      return e.phase === "starting" ? "worker: starting Python" : `worker: ready${e.pid ? ` (pid ${e.pid})` : ""}`;
    case "model":
      return `model: ${e.phase} ${e.model}${e.message ? `: ${e.message}` : ""}`;
    case "fit":
      return e.phase === "start" ? "fit: training the classifier" : undefined;
    case "remote":
      return (
        `remote: ${e.status} ${e.host}${e.batch ? ` batch ${e.batch}/${e.batches ?? "?"}` : ""}` +
        (e.message ? `: ${e.message}` : "")
      );
    default:
      return undefined;
  }
}

/**
 * Turns progress events into bars or lines. Pass {@link onProgress} as a call's `onProgress`;
 * call {@link stop} when the command ends (it also finishes a bar cut short by an error).
 */
export class CliProgress {
  readonly mode: ProgressMode;
  readonly #stream: ProgressStream;
  #bar: LiveBar | undefined;
  #lastLine = "";
  #sweeping = false;

  constructor(mode: ProgressMode, stream: ProgressStream = process.stderr) {
    this.mode = mode;
    this.#stream = stream;
  }

  /** The `onProgress` callback; never throws (a broken terminal must not fail a sweep). */
  readonly onProgress = (e: ProgressEvent): void => {
    if (this.mode === "quiet") return;
    try {
      this.#handle(e);
    } catch {
      // progress is best-effort
    }
  };

  /** A line of the command's own (e.g. "sweep: scoring the test set"), placed above any live bar. */
  note(text: string): void {
    if (this.mode !== "quiet") this.#line(text);
  }

  /** Finishes a live bar (leaving it drawn). */
  stop(): void {
    const bar = this.#bar;
    this.#bar = undefined;
    bar?.multibar.stop();
  }

  #handle(e: ProgressEvent): void {
    if (e.type === "extract") return this.#count("extract", e.completed, e.total, "prompts", e.cached);
    if (e.type === "sweep") {
      this.#sweeping = true;
      return this.#count("fit layers", e.completed, e.total, "layers", undefined, `layer ${e.layer}`);
    }
    // A sweep's bar counts its fits: the worker's per-fit events would only repeat it.
    if (e.type === "fit" && this.#sweeping) return;
    const line = phaseLine(e);
    if (line && line !== this.#lastLine) this.#line(line);
  }

  #line(text: string): void {
    this.#lastLine = text;
    if (this.#bar) this.#bar.multibar.log(`${text}\n`);
    else this.#stream.write(`${text}\n`);
  }

  #count(phase: string, completed: number, total: number, unit: string, cached?: number, detail = ""): void {
    const extra = cached ? `${cached} cached` : detail;
    if (this.mode === "lines") {
      // One line when a phase starts and one when it ends: readable in a log file.
      const key = `${phase}:${total}`;
      if (completed < total && this.#lastLine !== key) {
        this.#lastLine = key;
        this.#stream.write(`${phase}: ${total} ${unit}...\n`);
      }
      if (completed >= total) {
        this.#lastLine = "";
        this.#stream.write(`${phase}: ${completed}/${total} ${unit} done${extra ? ` (${extra})` : ""}\n`);
      }
      return;
    }
    if (this.#bar && (this.#bar.phase !== phase || this.#bar.total !== total)) this.stop();
    if (!this.#bar) this.#bar = this.#startBar(phase, total, unit);
    this.#bar.bar.update(completed, { detail: extra });
    if (completed >= total) this.stop();
  }

  #startBar(phase: string, total: number, unit: string): LiveBar {
    const multibar = new cliProgress.MultiBar(
      {
        stream: this.#stream as NodeJS.WritableStream,
        format: `${phase.padEnd(10)} {bar} {value}/{total} ${unit} {detail} | {duration_formatted}`,
        // A hidden cursor would stay hidden after Ctrl-C (cli-progress restores it only on stop, and
        // its gracefulExit would swallow SIGINT): left visible.
        hideCursor: false,
        clearOnComplete: false,
        barsize: 30,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    return { phase, total, multibar, bar: multibar.create(total, 0, { detail: "" }) };
  }
}
