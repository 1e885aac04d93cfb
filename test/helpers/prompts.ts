/** Small labelled prompt sets the tiny random models can separate. */
export const CATS = [
  "The cat sat on the mat.",
  "A cat chased the mouse.",
  "My cat sleeps all day.",
  "The cat drank some milk.",
  "That cat is very fluffy.",
  "Her cat likes the warm sun.",
  "The old cat purred softly.",
  "A small cat climbed the tree.",
  "The cat watched the birds.",
  "Our cat hates the rain.",
];
export const DOGS = [
  "The dog ran in the park.",
  "A dog barked at the mailman.",
  "My dog loves long walks.",
  "The dog fetched the ball.",
  "That dog is very loud.",
  "His dog dug a big hole.",
  "The young dog chewed a shoe.",
  "A big dog swam in the lake.",
  "The dog guarded the house.",
  "Our dog wags its tail.",
];
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
