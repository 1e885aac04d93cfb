/** Small labelled prompt sets the tiny random models can separate. */
export { CATS, DOGS } from "./prompt-sets.mjs";
export const TEST_PROMPTS = [
  "The cat is sleeping.",
  "The dog is barking loudly.",
  "A cat and a dog.",
  "Dogs run fast.",
];
/** A third class for multiclass probes. */
export const BIRDS = [
  "The bird sang at dawn.",
  "A bird built a nest.",
  "My bird whistles a tune.",
  "The bird flew over the sea.",
  "That bird has red wings.",
  "Her bird eats seeds.",
  "The little bird hopped along.",
  "A bird perched on the wire.",
  "The bird dove for a fish.",
  "Our bird talks all day.",
];
