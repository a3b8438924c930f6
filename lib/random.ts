/**
 * The library's seedable random number generator: xoshiro128** (Blackman & Vigna, 2018) seeded through
 * a splitmix-style mixer. Used wherever a run must be reproducible and resumable: weight init, batch
 * sampling, dropout masks drawn on the host. The whole state is four 32-bit words, so a checkpoint
 * stores `getState()` in JSON and `setState()` continues the exact same stream.
 *
 * Determinism: the integer stream uses only 32-bit integer operations (`Math.imul`, shifts), so it is
 * identical on every platform. `normal()` also uses `Math.log`/`Math.cos`/`Math.sin`, which V8 computes
 * with its own software (fdlibm-derived) implementation rather than the platform's libm, so it too is
 * bit-identical wherever Node runs.
 */
import { argError, describe } from './errors';

/** A generator's complete state: four unsigned 32-bit words, not all zero. */
export type RandomState = number[];

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/** murmur3's 32-bit finaliser: a bijection on u32 with full avalanche, used to spread seeds. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A xoshiro128** generator. Not cryptographic. Period 2^128 - 1; passes BigCrush. Every method
 * advances one stream, so any sequence of calls is reproducible from the seed.
 */
export class Random {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * Seeds the generator. `seed` is any non-negative safe integer; different seeds give unrelated
   * streams (the seed goes through a splitmix-style sequence of fmix32 calls, so 0, 1, 2 are fine).
   */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw argError('Random', 'seed', 'a non-negative safe integer', describe(seed));
    // Fold the high bits (seeds up to 2^53) into the splitmix counter so they matter too.
    let x = (seed >>> 0) ^ fmix32(Math.floor(seed / TWO_32) + 0x6a09e667);
    const next = () => fmix32((x = (x + 0x9e3779b9) >>> 0));
    // fmix32 is a bijection and the four counters differ, so at most one word is zero: the state is valid.
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A generator continuing from a state returned by `getState()`. */
  static fromState(state: readonly number[]): Random {
    const r = new Random(0);
    r.setState(state);
    return r;
  }

  /** The next 32 random bits as an unsigned integer in [0, 2^32). */
  nextU32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    // result = rotl(s1 * 5, 7) * 9
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = (s1 ^ n2) >>> 0;
    this.s0 = (s0 ^ n3) >>> 0;
    this.s2 = (n2 ^ t) >>> 0;
    this.s3 = ((n3 << 11) | (n3 >>> 21)) >>> 0;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits (every double of the form k / 2^53). */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_53;
  }

  /**
   * A uniform integer in [0, n), without modulo bias: draws whose value falls in the incomplete last
   * block of the range are rejected (the OpenBSD arc4random_uniform method). n may be up to 2^53 - 1.
   */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw argError('Random.int', 'n', 'a positive safe integer', describe(n));
    if (n <= TWO_32) {
      // 2^32 mod n, computed without 2^32 overflowing: values below it are the biased ones.
      const threshold = (TWO_32 - n) % n;
      for (;;) {
        const u = this.nextU32();
        if (u >= threshold) return u % n;
      }
    }
    const threshold = (TWO_53 - n) % n;
    for (;;) {
      const u = (this.nextU32() >>> 11) * TWO_32 + this.nextU32(); // 53 bits
      if (u >= threshold) return u % n;
    }
  }

  /** A standard normal draw (Box–Muller; one of the pair, so no hidden state besides the four words). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]: log stays finite
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** n draws from N(0, std²) as a Float32Array (Box–Muller using both values of each pair). */
  normals(n: number, std = 1): Float32Array {
    if (!Number.isSafeInteger(n) || n < 0) throw argError('Random.normals', 'n', 'a non-negative integer', describe(n));
    if (!Number.isFinite(std) || std < 0) throw argError('Random.normals', 'std', 'a finite number >= 0', describe(std));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - this.uniform())) * std;
      const a = 2 * Math.PI * this.uniform();
      out[i] = r * Math.cos(a);
      if (i + 1 < n) out[i + 1] = r * Math.sin(a);
    }
    return out;
  }

  /** Shuffles `array` in place (Fisher–Yates, every permutation equally likely) and returns it. */
  shuffle<A extends { length: number; [i: number]: unknown }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /** The complete state, JSON-serialisable: `setState` (or `Random.fromState`) resumes from it exactly. */
  getState(): RandomState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Restores a state returned by `getState()`. */
  setState(state: readonly number[]): void {
    const ok =
      Array.isArray(state) &&
      state.length === 4 &&
      state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_32) &&
      state.some((w) => w !== 0);
    if (!ok) throw argError('Random.setState', 'state', 'four unsigned 32-bit integers, not all zero (from getState())', describe(state));
    [this.s0, this.s1, this.s2, this.s3] = state;
  }
}
