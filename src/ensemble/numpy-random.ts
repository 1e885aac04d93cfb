/**
 * numpy's `np.random.default_rng(seed)` (SeedSequence + PCG64) and the two draws lmprobe's
 * bootstrap makes with it, `integers(0, n, size)` (Lemire's bounded 32-bit method) and `random()`,
 * so that `ProbeEnsemble.bootstrap(..., { randomState })` resamples exactly the rows lmprobe does.
 * BigInt arithmetic: a bootstrap draws a few thousand numbers, speed does not matter here.
 */

const MASK32 = 0xffffffffn;
const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;
const PCG_MULT = (2549297995355413924n << 64n) + 4865540595714422341n;

// numpy/random/bit_generator.pyx constants (SeedSequence).
const POOL_SIZE = 4;
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;

const u32 = (v: number) => v >>> 0;

/** The 32-bit words of a non-negative integer seed, least significant first (`_int_to_uint32_array`). */
function seedWords(seed: number): number[] {
  let n = BigInt(seed);
  if (n === 0n) return [0];
  const words: number[] = [];
  while (n > 0n) {
    words.push(Number(n & MASK32));
    n >>= 32n;
  }
  return words;
}

/** SeedSequence(seed).pool: numpy's entropy mixing. */
function seedPool(seed: number): number[] {
  const entropy = seedWords(seed);
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    let v = u32(value ^ hashConst);
    hashConst = u32(Math.imul(hashConst, MULT_A));
    v = u32(Math.imul(v, hashConst));
    return u32(v ^ (v >>> 16));
  };
  const mix = (x: number, y: number): number => {
    const r = u32(Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y));
    return u32(r ^ (r >>> 16));
  };
  const pool = Array.from({ length: POOL_SIZE }, (_, i) => hashmix(i < entropy.length ? entropy[i]! : 0));
  for (let src = 0; src < POOL_SIZE; src++)
    for (let dst = 0; dst < POOL_SIZE; dst++) if (src !== dst) pool[dst] = mix(pool[dst]!, hashmix(pool[src]!));
  for (let src = POOL_SIZE; src < entropy.length; src++)
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst]!, hashmix(entropy[src]!));
  return pool;
}

/** SeedSequence.generate_state(n, np.uint64). */
function generateState64(pool: number[], n: number): bigint[] {
  let hashConst = INIT_B;
  const words: number[] = [];
  for (let i = 0; i < 2 * n; i++) {
    let v = u32(pool[i % pool.length]! ^ hashConst);
    hashConst = u32(Math.imul(hashConst, MULT_B));
    v = u32(Math.imul(v, hashConst));
    words.push(u32(v ^ (v >>> 16)));
  }
  return Array.from({ length: n }, (_, i) => (BigInt(words[2 * i + 1]!) << 32n) | BigInt(words[2 * i]!));
}

/** numpy's `Generator(PCG64(seed))`, the draws lmprobe uses. */
export class NumpyGenerator {
  #state = 0n;
  #inc = 0n;
  #hasUint32 = false;
  #uinteger = 0;

  /** `np.random.default_rng(seed)` for a non-negative integer seed. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError("seed must be a non-negative safe integer");
    const [s0, s1, i0, i1] = generateState64(seedPool(seed), 4) as [bigint, bigint, bigint, bigint];
    const initState = (s0 << 64n) | s1;
    const initSeq = (i0 << 64n) | i1;
    this.#inc = ((initSeq << 1n) | 1n) & MASK128;
    this.#step();
    this.#state = (this.#state + initState) & MASK128;
    this.#step();
  }

  #step(): void {
    this.#state = (this.#state * PCG_MULT + this.#inc) & MASK128;
  }

  /** PCG64 XSL-RR output: the next 64 random bits. */
  next64(): bigint {
    this.#step();
    const s = this.#state;
    const x = ((s >> 64n) ^ s) & MASK64;
    const rot = Number(s >> 122n);
    return ((x >> BigInt(rot)) | (x << BigInt((64 - rot) & 63))) & MASK64;
  }

  /** 32 random bits: the low half of a 64-bit draw, then its high half. */
  next32(): number {
    if (this.#hasUint32) {
      this.#hasUint32 = false;
      return this.#uinteger;
    }
    const next = this.next64();
    this.#hasUint32 = true;
    this.#uinteger = Number(next >> 32n);
    return Number(next & MASK32);
  }

  /** `random()`: a double in [0, 1) from 53 random bits. */
  random(): number {
    return Number(this.next64() >> 11n) / 9007199254740992;
  }

  /** `integers(0, n, size=count)` for 1 <= n <= 2^32 - 1 (numpy's buffered Lemire rejection). */
  integers(n: number, count: number): number[] {
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) throw new RangeError("n must be in [1, 2^32 - 1]");
    if (n === 1) return new Array<number>(count).fill(0);
    const range = BigInt(n);
    const threshold = BigInt((2 ** 32 - n) % n);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      let m = BigInt(this.next32()) * range;
      let leftover = m & MASK32;
      if (leftover < range) {
        while (leftover < threshold) {
          m = BigInt(this.next32()) * range;
          leftover = m & MASK32;
        }
      }
      out.push(Number(m >> 32n));
    }
    return out;
  }

  /**
   * `choice(items, size=count, replace=True, p=p)`: uniform draws through `integers`, weighted ones
   * by a cumulative-sum search of `random()` values (numpy's algorithm).
   */
  choice(items: readonly number[], count: number, p?: readonly number[]): number[] {
    if (p === undefined) return this.integers(items.length, count).map((i) => items[i]!);
    const cdf: number[] = [];
    let sum = 0;
    for (const v of p) cdf.push((sum += v));
    const total = cdf[cdf.length - 1]!;
    for (let i = 0; i < cdf.length; i++) cdf[i]! /= total;
    return Array.from({ length: count }, () => {
      const u = this.random();
      let lo = 0;
      let hi = cdf.length; // searchsorted(side="right"): the first index whose value is > u
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! <= u) lo = mid + 1;
        else hi = mid;
      }
      return items[Math.min(lo, items.length - 1)]!;
    });
  }
}
