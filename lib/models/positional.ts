/**
 * The fixed sinusoidal position table of "Attention Is All You Need": for position p and channel
 * pair (2i, 2i+1), sin(p / 10000^(2i/C)) and cos(p / 10000^(2i/C)). Computed once in float64, then
 * rounded to f32; it is a buffer, not a parameter (nothing learns it, no checkpoint holds it).
 */

/** The table [positions, C] row-major as f32 (an odd C ends with a sin column). */
export function sinusoidalTable(positions: number, C: number, base = 10000): Float32Array {
  const out = new Float32Array(positions * C);
  for (let i = 0; 2 * i < C; i++) {
    const invFreq = Math.pow(base, -(2 * i) / C);
    for (let p = 0; p < positions; p++) {
      const angle = p * invFreq;
      out[p * C + 2 * i] = Math.sin(angle);
      if (2 * i + 1 < C) out[p * C + 2 * i + 1] = Math.cos(angle);
    }
  }
  return out;
}
