/** Float64 references for GELU (tanh approximation), written from the formula with Math.tanh. */

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) */
export function geluScalarRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(C * (x + A * x * x * x)));
}

/** d gelu / dx = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²) */
export function geluGradScalarRef(x: number): number {
  const t = Math.tanh(C * (x + A * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * A * x * x);
}

export function geluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, geluScalarRef);
}

/** dx = dout · gelu'(x) */
export function geluBackwardRef(dout: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = dout[i] * geluGradScalarRef(x[i]);
  return out;
}
