/**
 * Float64 references for 16-bit float formats, written from the IEEE 754 definitions rather than
 * by bit manipulation, to check the bit-level converters in lib/io/bf16.ts.
 */

/** The value of IEEE binary16 bits: (-1)^s × 2^(e-15) × (1 + m/1024), subnormals 2^-14 × m/1024. */
export function f16Value(bits: number): number {
  const s = (bits >> 15) & 1 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0x1f) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** The value of bf16 bits: (-1)^s × 2^(e-127) × (1 + m/128), subnormals 2^-126 × m/128. */
export function bf16Value(bits: number): number {
  const s = (bits >> 15) & 1 ? -1 : 1;
  const e = (bits >> 7) & 0xff;
  const m = bits & 0x7f;
  if (e === 0xff) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * 2 ** -126 * (m / 128);
  return s * 2 ** (e - 127) * (1 + m / 128);
}

/**
 * The bf16 value nearest to x (ties to the even mantissa), found by searching the two bf16
 * neighbours of x in float64 — no bit tricks. NaN for NaN; ±Infinity past the largest bf16 + half ulp.
 */
export function nearestBf16(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  // ulp of bf16 at a: 2^(floor(log2 a) - 7), but never below the subnormal step 2^-133.
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  const ulp = 2 ** Math.max(e - 7, -133);
  const lo = Math.floor(a / ulp) * ulp;
  const hi = lo + ulp;
  let r: number;
  if (a - lo < hi - a) r = lo;
  else if (hi - a < a - lo) r = hi;
  else r = Math.round(lo / ulp) % 2 === 0 ? lo : hi;
  const maxBf16 = (2 - 2 ** -7) * 2 ** 127;
  if (r > maxBf16) return s * Infinity;
  return s * r;
}
