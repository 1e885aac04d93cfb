/**
 * A labelled truth data set the demo generates itself: true and false statements about
 * sequences (the number, letter, day or month after another) and comparisons of numbers,
 * balanced, from a seeded generator. (Sums were dropped: a 135M model cannot check them, so
 * its activations carry no truth signal for them.)
 */
import { mulberry32 } from "../internal/mulberry32.js";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("");
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** One statement with its truth label (1 true, 0 false). */
export interface Statement {
  text: string;
  label: number;
}

/** Generates `count` statements (half true, half false), shuffled with `seed`. */
export function truthStatements(count: number, seed = 0): Statement[] {
  const rand = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const wrong = (right: number) => {
    let w = right;
    while (w === right || w < 0) w = right + int(-5, 5);
    return w;
  };
  // A successor in a known sequence, or a wrong one drawn from the same sequence.
  const successor = (items: readonly string[], truth: boolean) => {
    const i = int(0, items.length - 2);
    let j = i + 1;
    if (!truth) while (j === i + 1 || j === i) j = int(0, items.length - 1);
    return [items[i]!, items[j]!] as const;
  };
  const makers: Array<(truth: boolean) => string> = [
    (truth) => {
      const a = int(1, 80);
      return `The number after ${a} is ${truth ? a + 1 : wrong(a + 1)}.`;
    },
    (truth) => {
      const [a, b] = successor(LETTERS, truth);
      return `The letter after ${a} is ${b}.`;
    },
    (truth) => {
      const [a, b] = successor(DAYS, truth);
      return `The day after ${a} is ${b}.`;
    },
    (truth) => {
      const [a, b] = successor(MONTHS, truth);
      return `The month after ${a} is ${b}.`;
    },
    (truth) => {
      const a = int(2, 60);
      let b = int(1, 60);
      while (b === a) b = int(1, 60);
      const [hi, lo] = a > b ? [a, b] : [b, a];
      return truth ? `${hi} is larger than ${lo}.` : `${lo} is larger than ${hi}.`;
    },
  ];
  // Unique statements only, so no held-out statement repeats a training one. Small sequences
  // (days, months) run out of fresh statements: then a larger family takes the turn.
  const out: Statement[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const truth = i % 2 === 0;
    let text: string | undefined;
    for (let attempt = 0; text === undefined; attempt++) {
      const family = attempt < 20 ? Math.floor(i / 2) % makers.length : attempt % 2 === 0 ? 0 : makers.length - 1;
      const candidate = makers[family]!(truth);
      if (!seen.has(candidate)) text = candidate;
      if (attempt > 10_000) throw new Error(`cannot generate ${count} distinct statements`);
    }
    seen.add(text);
    out.push({ text, label: truth ? 1 : 0 });
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
