/**
 * Seeded random inputs for tests. Each test draws fresh data (the seed mixes in the time unless
 * GLM_TEST_SEED is set), and prints its seed on failure through `seedNote()`.
 */
const baseSeed = process.env.GLM_TEST_SEED ? Number(process.env.GLM_TEST_SEED) : (Date.now() ^ (process.pid << 16)) >>> 0;

/** The seed of this test run, to reproduce a failure with GLM_TEST_SEED=... */
export function seedNote(): string {
  return `(GLM_TEST_SEED=${baseSeed})`;
}

/** mulberry32: small, fast, good enough for test data. */
export class Rng {
  private s: number;
  constructor(seed = baseSeed) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo = -1, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  int(lo: number, hiExclusive: number): number {
    return lo + Math.floor(this.next() * (hiExclusive - lo));
  }
  /** n normal values times `scale`, as a Float32Array. */
  normals(n: number, scale = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal() * scale;
    return a;
  }
  uniforms(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.uniform(lo, hi);
    return a;
  }
  ints(n: number, lo: number, hiExclusive: number): Int32Array {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.int(lo, hiExclusive);
    return a;
  }
}

let counter = 0;
/** A fresh generator for one test, derived from the run's seed. */
export function rng(): Rng {
  counter++;
  return new Rng((baseSeed + Math.imul(counter, 0x9e3779b1)) >>> 0);
}

/** Rounds every value to bf16 precision (nearest-even), so references see what the kernel sees. */
export function roundBf16(a: Float32Array): Float32Array {
  const u = new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    u[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 0) & 0xffff0000;
  }
  return new Float32Array(u.buffer);
}
