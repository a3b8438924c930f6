/**
 * Float64 references for the optimizers and gradient clipping, written from the algorithms
 * themselves: AdamW as in Loshchilov & Hutter's Algorithm 2 (decoupled weight decay, bias-corrected
 * moments) with the schedule multiplier η_t = lr and α = 1 (PyTorch's convention, so the decay is
 * lr·λ·θ); SGD with momentum as PyTorch documents it; the clipping rule of clip_grad_norm_.
 */

export interface AdamWRefState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
  /** Updates so far (the bias-correction t of the next one is step + 1). */
  step: number;
}

export interface AdamWRefParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export function adamwRefInit(p: ArrayLike<number>): AdamWRefState {
  return { p: Float64Array.from(p), m: new Float64Array(p.length), v: new Float64Array(p.length), step: 0 };
}

/** One AdamW update of `s` in place with gradient g times `scale`. */
export function adamwRefStep(s: AdamWRefState, g: ArrayLike<number>, hp: AdamWRefParams, scale = 1): void {
  const t = ++s.step;
  const bc1 = 1 - Math.pow(hp.beta1, t);
  const bc2 = 1 - Math.pow(hp.beta2, t);
  for (let i = 0; i < s.p.length; i++) {
    const gi = g[i] * scale;
    s.m[i] = hp.beta1 * s.m[i] + (1 - hp.beta1) * gi;
    s.v[i] = hp.beta2 * s.v[i] + (1 - hp.beta2) * gi * gi;
    const mHat = s.m[i] / bc1;
    const vHat = s.v[i] / bc2;
    s.p[i] = s.p[i] - hp.lr * (mHat / (Math.sqrt(vHat) + hp.eps) + hp.weightDecay * s.p[i]);
  }
}

export interface SgdRefParams {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export interface SgdRefState {
  p: Float64Array;
  buf: Float64Array | null;
}

/** One SGD update of `s` in place with gradient g times `scale`. */
export function sgdRefStep(s: SgdRefState, g: ArrayLike<number>, hp: SgdRefParams, scale = 1): void {
  const n = s.p.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = g[i] * scale + hp.weightDecay * s.p[i];
  if (hp.momentum !== 0) {
    if (!s.buf) {
      s.buf = Float64Array.from(d);
    } else {
      for (let i = 0; i < n; i++) s.buf[i] = hp.momentum * s.buf[i] + (1 - hp.dampening) * d[i];
    }
    for (let i = 0; i < n; i++) d[i] = hp.nesterov ? d[i] + hp.momentum * s.buf[i] : s.buf[i];
  }
  for (let i = 0; i < n; i++) s.p[i] -= hp.lr * d[i];
}

/** The L2 norm of all the arrays taken as one vector. */
export function globalNormRef(grads: ArrayLike<number>[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/** clip_grad_norm_'s coefficient: min(1, maxNorm / (norm + 1e-6)). */
export function clipCoefRef(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}
