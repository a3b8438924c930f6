/** Float64 reference for LayerNorm over the last dimension, forward and backward. */

export interface LayerNormRef {
  out: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

/** x (N × C), weight (C), bias (C) or null: (x - mean) / sqrt(var + eps) · weight + bias per row. */
export function layerNormRef(
  x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | null, C: number, eps: number,
): LayerNormRef {
  const N = x.length / C;
  const out = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c] - m) ** 2;
    v /= C;
    const rs = 1 / Math.sqrt(v + eps);
    mean[r] = m;
    rstd[r] = rs;
    for (let c = 0; c < C; c++) out[r * C + c] = (x[r * C + c] - m) * rs * weight[c] + (bias ? bias[c] : 0);
  }
  return { out, mean, rstd };
}

/** Gradients of sum(out · dout) with respect to x, weight and bias. */
export function layerNormBackwardRef(
  dout: ArrayLike<number>, x: ArrayLike<number>, weight: ArrayLike<number>, C: number, eps: number,
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const N = x.length / C;
  const { mean, rstd } = layerNormRef(x, weight, null, C, eps);
  const dx = new Float64Array(N * C), dweight = new Float64Array(C), dbias = new Float64Array(C);
  for (let r = 0; r < N; r++) {
    let s1 = 0, s2 = 0;
    for (let c = 0; c < C; c++) {
      const xh = (x[r * C + c] - mean[r]) * rstd[r];
      const g = dout[r * C + c] * weight[c];
      s1 += g;
      s2 += g * xh;
      dweight[c] += dout[r * C + c] * xh;
      dbias[c] += dout[r * C + c];
    }
    for (let c = 0; c < C; c++) {
      const xh = (x[r * C + c] - mean[r]) * rstd[r];
      const g = dout[r * C + c] * weight[c];
      dx[r * C + c] = rstd[r] * (g - s1 / C - xh * s2 / C);
    }
  }
  return { dx, dweight, dbias };
}
