/**
 * Float64 reference for the rotary position embedding (GPT-NeoX / Hugging Face Llama "rotate_half"
 * layout), written from the formula: for each row (b, h, t) of x [B, H, T, D] and i < D/2, the pair
 * (i, i + D/2) is rotated by a = (positionOffset + t) · base^(−2i/D). The backward is the rotation
 * by −a.
 */

/** rope(x) for x [B, H, T, D] given as a flat array; `inverse` rotates by −angle (the backward). */
export function ropeRef(
  x: ArrayLike<number>, shape: readonly number[], base: number, positionOffset: number, inverse = false,
): Float64Array {
  const [B, H, T, D] = shape;
  const half = D / 2;
  const out = new Float64Array(B * H * T * D);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = (positionOffset + t) * Math.pow(base, (-2 * i) / D);
      const c = Math.cos(a), s = inverse ? -Math.sin(a) : Math.sin(a);
      for (let bh = 0; bh < B * H; bh++) {
        const at = (bh * T + t) * D + i;
        const x1 = x[at], x2 = x[at + half];
        out[at] = x1 * c - x2 * s;
        out[at + half] = x2 * c + x1 * s;
      }
    }
  }
  return out;
}

/** dx = Rᵀ·dout: the gradient of rope for an upstream gradient dout. */
export function ropeBackwardRef(dout: ArrayLike<number>, shape: readonly number[], base: number, positionOffset: number): Float64Array {
  return ropeRef(dout, shape, base, positionOffset, true);
}
