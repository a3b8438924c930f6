/**
 * Float64 reference for dropout, with the Philox-4x32-10 generator written again from the published
 * algorithm (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) in plain 32-bit
 * integer arithmetic, independently of the native code. The mask layout follows native/cpu/dropout.h:
 * counter c = offset + j, Philox block c >> 2 with counter words (lo32, hi32 of the block, 0, 0)
 * and key (lo32, hi32 of the seed), word c & 3; kept where word >= floor(p · 2^32).
 */

const M0 = 0xd2511f53, M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9, W1 = 0xbb67ae85;
const TWO32 = 4294967296;

/**
 * The high 32 bits of the 64-bit product a · b of two uint32: with b = bh·2^16 + bl, both partial
 * products a·bh and a·bl are below 2^48 and exact in doubles, and so is a·bh + floor(a·bl / 2^16).
 */
function mulhi32(a: number, b: number): number {
  const bl = b % 65536, bh = (b - bl) / 65536;
  return Math.floor((a * bh + Math.floor((a * bl) / 65536)) / 65536);
}

/** Philox-4x32 with 10 rounds: counter [c0, c1, c2, c3], key [k0, k1] (uint32 each). */
export function philox4x32_10(ctr: readonly number[], key: readonly number[]): [number, number, number, number] {
  const out = new Uint32Array(4);
  philoxInto(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
  return [out[0], out[1], out[2], out[3]];
}

// The same with the state in locals and the result written into `out` (no allocation per block).
function philoxInto(out: Uint32Array, c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  c0 >>>= 0; c1 >>>= 0; c2 >>>= 0; c3 >>>= 0; k0 >>>= 0; k1 >>>= 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0, n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/** The random words of counters offset .. offset + n − 1 under `seed` (integers below 2^53). */
export function dropoutWords(seed: number, offset: number, n: number): Uint32Array {
  const k0 = seed % TWO32, k1 = Math.floor(seed / TWO32);
  const out = new Uint32Array(n);
  const words = new Uint32Array(4);
  let j = 0;
  while (j < n) {
    const c = offset + j;
    const block = Math.floor(c / 4);
    philoxInto(words, block % TWO32, Math.floor(block / TWO32), 0, 0, k0, k1);
    for (let w = c % 4; w < 4 && j < n; w++, j++) out[j] = words[w];
  }
  return out;
}

/** 1 where the element is kept, 0 where it is dropped. */
export function dropoutKeepRef(p: number, seed: number, offset: number, n: number): Uint8Array {
  const threshold = Math.floor(p * TWO32);
  const words = dropoutWords(seed, offset, n);
  const keep = new Uint8Array(n);
  for (let j = 0; j < n; j++) keep[j] = words[j] >= threshold ? 1 : 0;
  return keep;
}

/** y = x · keep / (1 − p), in float64; dropped elements are 0 whatever x is. */
export function dropoutRef(x: ArrayLike<number>, p: number, seed: number, offset: number): Float64Array {
  const keep = dropoutKeepRef(p, seed, offset, x.length);
  const y = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) y[j] = keep[j] ? x[j] / (1 - p) : 0;
  return y;
}
