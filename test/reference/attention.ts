/**
 * Float64 reference of multi-head attention, written the naive way: the full (Tq, Tk) score matrix
 * per head, an explicit mask, a softmax, and the textbook backward through it.
 */

export interface AttentionRefOptions {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  scale: number;
  mask: 'none' | 'causal' | { prefix: number };
  /** Per batch row; keys at positions >= keyLengths[b] are masked. */
  keyLengths?: ArrayLike<number>;
}

/** Whether query i (of Tq, aligned to the end of the Tk keys) may see key j. */
export function visibleRef(o: AttentionRefOptions, b: number, i: number, j: number): boolean {
  const pos = i + o.Tk - o.Tq;
  if (o.keyLengths && j >= o.keyLengths[b]) return false;
  if (o.mask === 'none') return true;
  if (o.mask === 'causal') return j <= pos;
  return j < o.mask.prefix || j <= pos;
}

/** Probabilities P (Tq, Tk) of head (b, h); rows that see no key are all zero. */
function probs(q: ArrayLike<number>, k: ArrayLike<number>, o: AttentionRefOptions, b: number, h: number): Float64Array {
  const { Tq, Tk, D } = o;
  const qo = (b * o.H + h) * Tq * D, ko = (b * o.H + h) * Tk * D;
  const P = new Float64Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) {
    let mx = -Infinity;
    for (let j = 0; j < Tk; j++) {
      if (!visibleRef(o, b, i, j)) {
        P[i * Tk + j] = -Infinity;
        continue;
      }
      let s = 0;
      for (let d = 0; d < D; d++) s += q[qo + i * D + d] * k[ko + j * D + d];
      s *= o.scale;
      P[i * Tk + j] = s;
      mx = Math.max(mx, s);
    }
    if (mx === -Infinity) {
      P.fill(0, i * Tk, (i + 1) * Tk);
      continue;
    }
    let sum = 0;
    for (let j = 0; j < Tk; j++) sum += P[i * Tk + j] = Math.exp(P[i * Tk + j] - mx);
    for (let j = 0; j < Tk; j++) P[i * Tk + j] /= sum;
  }
  return P;
}

/** out (B, H, Tq, D) and lse (B, H, Tq; -Infinity for rows that see no key). */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, o: AttentionRefOptions) {
  const { B, H, Tq, Tk, D } = o;
  const out = new Float64Array(B * H * Tq * D);
  const lse = new Float64Array(B * H * Tq);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const P = probs(q, k, o, b, h);
      const qo = (b * H + h) * Tq * D, ko = (b * H + h) * Tk * D;
      for (let i = 0; i < Tq; i++) {
        // lse straight from its definition, log(sum over visible keys of exp(s))
        let mx = -Infinity;
        const s = new Float64Array(Tk);
        for (let j = 0; j < Tk; j++) {
          s[j] = -Infinity;
          if (!visibleRef(o, b, i, j)) continue;
          let acc = 0;
          for (let d = 0; d < D; d++) acc += q[qo + i * D + d] * k[ko + j * D + d];
          s[j] = acc * o.scale;
          mx = Math.max(mx, s[j]);
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) if (s[j] > -Infinity) sum += Math.exp(s[j] - mx);
        lse[(b * H + h) * Tq + i] = mx === -Infinity ? -Infinity : mx + Math.log(sum);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Tk; j++) acc += P[i * Tk + j] * v[ko + j * D + d];
          out[qo + i * D + d] = acc;
        }
      }
    }
  return { out, lse };
}

/** dq, dk, dv for an upstream gradient dout (B, H, Tq, D), through the full softmax Jacobian. */
export function attentionBackwardRef(
  dout: ArrayLike<number>, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, o: AttentionRefOptions,
) {
  const { B, H, Tq, Tk, D } = o;
  const dq = new Float64Array(B * H * Tq * D);
  const dk = new Float64Array(B * H * Tk * D);
  const dv = new Float64Array(B * H * Tk * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const P = probs(q, k, o, b, h);
      const qo = (b * H + h) * Tq * D, ko = (b * H + h) * Tk * D;
      for (let i = 0; i < Tq; i++) {
        // dP[j] = dout_i . v_j; dS[j] = sum_l P[j] (delta_jl - P[l]) dP[l]
        const dP = new Float64Array(Tk);
        for (let j = 0; j < Tk; j++) {
          let acc = 0;
          for (let d = 0; d < D; d++) acc += dout[qo + i * D + d] * v[ko + j * D + d];
          dP[j] = acc;
        }
        let dot = 0;
        for (let j = 0; j < Tk; j++) dot += P[i * Tk + j] * dP[j];
        for (let j = 0; j < Tk; j++) {
          const p = P[i * Tk + j];
          if (p === 0) continue;
          const dS = p * (dP[j] - dot) * o.scale;
          for (let d = 0; d < D; d++) {
            dq[qo + i * D + d] += dS * k[ko + j * D + d];
            dk[ko + j * D + d] += dS * q[qo + i * D + d];
            dv[ko + j * D + d] += p * dout[qo + i * D + d];
          }
        }
      }
    }
  return { dq, dk, dv };
}
