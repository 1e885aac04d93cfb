/**
 * Mulberry32: a small seeded 32-bit PRNG with integer arithmetic only, so one seed gives the same
 * sequence on every machine (data splits, bootstrap resamples, generated data sets). Not for
 * cryptography.
 */

/** A generator of floats in [0, 1) seeded by `seed` (taken as an unsigned 32-bit integer). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
