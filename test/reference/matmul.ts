/**
 * Float64 references for matmul: the forward with its epilogue (alpha, beta, bias, GELU) and the
 * backward, written from the definitions with plain index loops over the stored layouts.
 */
import { geluGradScalarRef, geluScalarRef } from './activation';

/** Shapes of one matmul: op(A) is (M, K), op(B) is (K, N), per batch item. */
export interface MatmulSpec {
  batch: number;
  M: number;
  K: number;
  N: number;
  transA?: boolean;
  transB?: boolean;
  /** b has a batch dimension (otherwise one b is shared by every item) */
  batchedB?: boolean;
}

export interface EpilogueSpec {
  bias?: ArrayLike<number>;
  gelu?: boolean;
  alpha?: number;
  beta?: number;
  /** the previous contents of the output, read when beta != 0 */
  c0?: ArrayLike<number>;
}

/** Index of op(A)[z][i][k] in a's storage. */
function aIndex(s: MatmulSpec, z: number, i: number, k: number): number {
  return z * s.M * s.K + (s.transA ? k * s.M + i : i * s.K + k);
}

/** Index of op(B)[z][k][j] in b's storage. */
function bIndex(s: MatmulSpec, z: number, k: number, j: number): number {
  const base = s.batchedB ? z * s.K * s.N : 0;
  return base + (s.transB ? j * s.K + k : k * s.N + j);
}

/** out = gelu?(alpha·op(A)·op(B) + beta·c0 + bias); preact is the value before GELU. */
export function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  s: MatmulSpec,
  e: EpilogueSpec = {},
): { out: Float64Array; preact: Float64Array } {
  const { batch, M, K, N } = s;
  const alpha = e.alpha ?? 1, beta = e.beta ?? 0;
  const out = new Float64Array(batch * M * N);
  const preact = new Float64Array(batch * M * N);
  // op(A)[z][i][k] = a[aIndex(z, i, 0) + k·aStep], op(B)[z][k][j] = b[bIndex(z, 0, j) + k·bStep]
  const aStep = s.transA ? M : 1, bStep = s.transB ? 1 : N;
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let acc = 0;
        const a0 = aIndex(s, z, i, 0), b0 = bIndex(s, z, 0, j);
        for (let k = 0; k < K; k++) acc += a[a0 + k * aStep] * b[b0 + k * bStep];
        const o = (z * M + i) * N + j;
        let v = alpha * acc;
        if (beta !== 0) v += beta * e.c0![o];
        if (e.bias) v += e.bias[j];
        preact[o] = v;
        out[o] = e.gelu ? geluScalarRef(v) : v;
      }
  return { out, preact };
}

/**
 * Gradients of sum(g · matmul(a, b, bias, gelu?)) with respect to a, b and bias, in their stored
 * layouts (a shared b gets the sum over the batch).
 */
export function matmulBackwardRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  g: ArrayLike<number>,
  s: MatmulSpec,
  e: { bias?: ArrayLike<number>; gelu?: boolean; roundPreact?: (x: number) => number } = {},
): { da: Float64Array; db: Float64Array; dbias: Float64Array; dbiasTermNorm: number } {
  const { batch, M, K, N } = s;
  const dp = Float64Array.from(g);
  if (e.gelu) {
    // roundPreact: the pre-activation as the op stores it (bf16 rounding), which GELU's derivative
    // then sees; near the zero of gelu' at x ≈ -0.75 that rounding dominates the gradient's error.
    const { preact } = matmulRef(a, b, s, { bias: e.bias });
    const round = e.roundPreact ?? ((x: number) => x);
    for (let o = 0; o < dp.length; o++) dp[o] *= geluGradScalarRef(round(preact[o]));
  }
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  const dbias = new Float64Array(N);
  const aStep = s.transA ? M : 1, bStep = s.transB ? 1 : N;
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        const d = dp[(z * M + i) * N + j];
        dbias[j] += d;
        if (d === 0) continue;
        const a0 = aIndex(s, z, i, 0), b0 = bIndex(s, z, 0, j);
        for (let k = 0; k < K; k++) {
          da[a0 + k * aStep] += d * b[b0 + k * bStep];
          db[b0 + k * bStep] += d * a[a0 + k * aStep];
        }
      }
  // The root sum of squares of every term summed into dbias: a sum that cancels to much less than its
  // terms carries the rounding error of the terms (bf16 dOut), not of the result.
  let sq = 0;
  for (const d of dp) sq += d * d;
  return { da, db, dbias, dbiasTermNorm: Math.sqrt(sq) };
}
