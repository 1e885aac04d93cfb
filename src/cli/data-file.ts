/**
 * Prompt files of the command line: JSONL (`{"text": "...", "label": 0}` per line) or plain text
 * (one prompt per line). A bad line is a {@link DataFileError} naming the file and its line number.
 */
import { readFileSync } from "node:fs";
import { InvalidInputError } from "../errors.js";
import { errorCode, errorMessage, parseJsonObject } from "../internal/unknown-values.js";

/** A data file that cannot be read or has a bad line; `line` is 1-based (undefined: the whole file). */
export class DataFileError extends InvalidInputError {
  /** The file at fault. */
  readonly path: string;
  /** Its 1-based line number, when one line is at fault. */
  readonly line: number | undefined;
  constructor(option: string, path: string, line: number | undefined, message: string, cause?: unknown) {
    super(option, line === undefined ? `${option} ${path}: ${message}` : `${option} ${path}:${line}: ${message}`, {
      ...(line !== undefined ? { index: line - 1 } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
    this.path = path;
    this.line = line;
  }
}

/** Prompts of a file, with their labels when every line has one. */
export interface PromptFile {
  prompts: string[];
  labels?: number[];
}

const FORMAT = 'each line must be a JSON object like {"text": "The cat sat.", "label": 1}';

/**
 * Reads a prompt file. JSONL (`*.jsonl`): every non-blank line an object with a "text" string and
 * an optional numeric "label" (`requireLabels`: on every line; `integerLabels`: class numbers).
 * Other files: one prompt per non-blank line. Line numbers count blank lines too, as editors do.
 */
export function readPromptFile(
  path: string,
  option: string,
  check: { requireLabels?: boolean; integerLabels?: boolean } = {},
): PromptFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new DataFileError(option, path, undefined, `cannot be read (${errorCode(err) ?? errorMessage(err)}).`, err);
  }
  const lines = text.split(/\r?\n/).map((content, i) => ({ content, line: i + 1 }));
  const filled = lines.filter((l) => l.content.trim() !== "");
  if (filled.length === 0) throw new DataFileError(option, path, undefined, "has no prompts (every line is blank).");
  if (!path.endsWith(".jsonl")) return { prompts: filled.map((l) => l.content) };
  const prompts: string[] = [];
  const labels: number[] = [];
  for (const { content, line } of filled) {
    let row: Record<string, unknown>;
    try {
      row = parseJsonObject(content);
    } catch (err) {
      throw new DataFileError(option, path, line, `is not a JSON object: ${FORMAT}.`, err);
    }
    if (typeof row.text !== "string" || row.text === "")
      throw new DataFileError(option, path, line, `has no "text" string: ${FORMAT}.`);
    prompts.push(row.text);
    const label = row.label;
    if (label === undefined || label === null) {
      if (check.requireLabels) throw new DataFileError(option, path, line, `has no "label": ${FORMAT}.`);
      continue;
    }
    if (typeof label !== "number" || !Number.isFinite(label))
      throw new DataFileError(option, path, line, `"label" must be a number, got ${JSON.stringify(label)}.`);
    if (check.integerLabels && !(Number.isInteger(label) && label >= 0))
      throw new DataFileError(option, path, line, `"label" must be a class number (0, 1, ...), got ${label}.`);
    labels.push(label);
  }
  // Labels on only some lines: a prediction file (metrics need every label); training asks requireLabels.
  return labels.length === prompts.length ? { prompts, labels } : { prompts };
}
