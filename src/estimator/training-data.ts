/**
 * The two shapes of `fit`: contrastive `(positivePrompts, negativePrompts)` or labelled
 * `(prompts, labels)`, checked in TypeScript with errors that name the bad argument.
 */
import { checkConversation, type Prompt } from "../chat/chat-input.js";
import { InvalidInputError } from "../errors.js";

/** Prompts with integer labels, ready for training. */
export interface TrainingData {
  prompts: Prompt[];
  labels: number[];
}

/**
 * Checks a prompt list: a non-empty array of non-empty strings and chat conversations (`roles`: the
 * `tokens` role mask, which every conversation must have tokens of).
 */
export function checkPrompts(prompts: unknown, argument = "prompts", roles: string[] | null = null): Prompt[] {
  if (!Array.isArray(prompts))
    throw new InvalidInputError(argument, `${argument} must be an array of strings, got ${typeof prompts}.`);
  if (prompts.length === 0) throw new InvalidInputError(argument, `${argument} is empty: pass at least one prompt.`);
  return prompts.map((p: unknown, i): Prompt => {
    if (Array.isArray(p)) return checkConversation(p, argument, i, roles);
    if (typeof p !== "string")
      throw new InvalidInputError(
        argument,
        `${argument}[${i}] is ${p === null ? "null" : typeof p}, not a string or a chat conversation.`,
      );
    // Refused, not given a value: a tokenizer without BOS gives "" no token, and padded in a batch
    // its activation would depend on its batch companions (the worker refuses it too).
    if (p === "") {
      const message = `${argument}[${i}] is an empty string: prompts must be non-empty.`;
      throw new InvalidInputError(argument, message, { index: i });
    }
    return p;
  });
}

/** Checks labels: one per prompt; integers for classification, finite numbers for regression. */
/**
 * `checkPrompts` for methods that read the text itself (text baselines, the native runtime): a
 * chat conversation is refused there, naming the argument, since no chat template renders it.
 */
export function checkTextPrompts(prompts: unknown, argument = "prompts", what = "this method"): string[] {
  return textPrompts(checkPrompts(prompts, argument), argument, what);
}

/** Already-checked prompts as plain strings, refusing chat conversations (see `checkTextPrompts`). */
export function textPrompts(prompts: Prompt[], argument = "prompts", what = "this method"): string[] {
  return prompts.map((p, i) => {
    if (typeof p === "string") return p;
    throw new InvalidInputError(
      argument,
      `${argument}[${i}] is a chat conversation, but ${what} takes plain strings: pass the text itself.`,
    );
  });
}

export function checkLabels(
  labels: unknown,
  count: number,
  argument = "labels",
  task: "classification" | "regression" = "classification",
): number[] {
  if (!Array.isArray(labels))
    throw new InvalidInputError(
      argument,
      `${argument} must be an array of ${task === "regression" ? "numbers" : "integers"}.`,
    );
  if (labels.length !== count)
    throw new InvalidInputError(
      argument,
      `${argument} has ${labels.length} entries for ${count} samples: pass one label per sample.`,
    );
  return labels.map((l: unknown, i) => {
    if (typeof l !== "number" || !Number.isFinite(l))
      throw new InvalidInputError(
        argument,
        `${argument}[${i}] is ${JSON.stringify(l)}: labels must be finite numbers.`,
      );
    if (task === "classification" && !Number.isInteger(l)) {
      throw new InvalidInputError(
        argument,
        `${argument}[${i}] is ${l}: classification labels must be integers ` +
          '(for continuous targets set task: "regression").',
      );
    }
    return l;
  });
}

/**
 * Interprets the two positional arguments of `fit`: numbers (integers or floats) mean labelled
 * mode; strings mean contrastive mode.
 */
export function trainingData(
  first: unknown,
  second: unknown,
  task: "classification" | "regression" = "classification",
  roles: string[] | null = null,
): TrainingData {
  if (!Array.isArray(second)) {
    throw new InvalidInputError(
      "negativePrompts",
      "fit() takes (positivePrompts, negativePrompts) or (prompts, labels); " +
        "the second argument is missing or not an array.",
    );
  }
  const labelled = second.length > 0 && second.every((v) => typeof v === "number");
  let data: TrainingData;
  if (labelled) {
    const prompts = checkPrompts(first, "prompts", roles);
    data = { prompts, labels: checkLabels(second, prompts.length, "labels", task) };
  } else {
    if (task === "regression")
      throw new InvalidInputError(
        "labels",
        "A regression probe trains on (prompts, values): pass one number per prompt in the second argument.",
      );
    const positive = checkPrompts(first, "positivePrompts", roles);
    const negative = checkPrompts(second, "negativePrompts", roles);
    data = { prompts: [...positive, ...negative], labels: [...positive.map(() => 1), ...negative.map(() => 0)] };
  }
  if (task === "classification" && new Set(data.labels).size < 2) {
    throw new InvalidInputError(
      "labels",
      `The training labels contain only one class (${data.labels[0]}): a classifier needs at least two.`,
    );
  }
  return data;
}

/** Checks sample weights: one finite, non-negative number per training sample. */
export function checkSampleWeight(weights: unknown, count: number): number[] | undefined {
  if (weights === undefined || weights === null) return undefined;
  const bad = (got: string) =>
    new InvalidInputError(
      "sampleWeight",
      `sampleWeight must hold ${count} finite, non-negative numbers, one per training sample (got ${got}).`,
    );
  if (!Array.isArray(weights)) throw bad(typeof weights);
  if (weights.length !== count) throw bad(`${weights.length} entries`);
  return weights.map((w: unknown) => {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) throw bad(`${weights.length} entries`);
    return w;
  });
}

/** Token rows of "all" training pooling: every real token of each prompt, its label repeated. */
export function expandTokens(
  sequences: Float32Array[],
  width: number,
  y: number[],
  weights: number[] | undefined,
): { x: Float32Array; n: number; y: number[]; weights?: number[] } {
  const total = sequences.reduce((s, q) => s + q.length / width, 0);
  const x = new Float32Array(total * width);
  const rowsY: number[] = [];
  const rowsW: number[] = [];
  let offset = 0;
  sequences.forEach((seq, i) => {
    x.set(seq, offset);
    offset += seq.length;
    for (let t = 0; t < seq.length / width; t++) {
      rowsY.push(y[i]!);
      if (weights) rowsW.push(weights[i]!);
    }
  });
  return { x, n: total, y: rowsY, ...(weights ? { weights: rowsW } : {}) };
}
