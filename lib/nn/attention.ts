/**
 * Causal multi-head self-attention as in GPT-2: one fused projection to q, k, v (c_attn), the fused
 * attention kernel with a causal mask (the (T, T) scores never exist), and an output projection
 * (c_proj). With RoPE, q and k are rotated after the split. There is no dropout on the attention
 * probabilities: the fused kernel has none (residual dropout after c_proj is the model's job).
 */
import { argError, describe } from '../errors';
import { attention, MAX_HEAD_DIM } from '../ops/attention';
import { permute } from '../ops/layout';
import { Tensor } from '../tensor';
import { ForwardContext } from './context';
import { Linear } from './linear';
import { Module } from './module';
import { ropeOp } from './availableOps';

const EVAL = new ForwardContext();

/** Options of {@link CausalSelfAttention}. */
export interface CausalSelfAttentionOptions {
  /** Rotate q and k with RoPE of this base (theta); absent: no rotation (positions come from elsewhere). */
  ropeBase?: number;
}

/** Causal self-attention holding c_attn (C → 3C) and c_proj (C → C). */
export class CausalSelfAttention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  readonly nHead: number;
  readonly headDim: number;
  readonly ropeBase: number | null;

  constructor(c_attn: Linear, c_proj: Linear, nHead: number, opts: CausalSelfAttentionOptions = {}) {
    super();
    const op = 'CausalSelfAttention';
    const C = c_proj.outFeatures;
    if (c_attn.inFeatures !== C || c_attn.outFeatures !== 3 * C || c_proj.inFeatures !== C)
      throw argError(op, 'c_attn', `a Linear ${C} → ${3 * C} (with c_proj ${C} → ${C})`,
        `${c_attn.inFeatures} → ${c_attn.outFeatures} (c_proj ${c_proj.inFeatures} → ${C})`);
    if (!Number.isInteger(nHead) || nHead < 1 || C % nHead !== 0)
      throw argError(op, 'nHead', `a positive divisor of the width ${C}`, describe(nHead));
    const D = C / nHead;
    if (D > MAX_HEAD_DIM) throw argError(op, 'nHead', `a head size C / nHead <= ${MAX_HEAD_DIM}`, `${nHead} heads of ${D}`);
    this.c_attn = this.registerModule('c_attn', c_attn);
    this.c_proj = this.registerModule('c_proj', c_proj);
    this.nHead = nHead;
    this.headDim = D;
    this.ropeBase = opts.ropeBase ?? null;
  }

  /** x [B, T, C] → [B, T, C] in the context's compute dtype. */
  forward(x: Tensor, ctx: ForwardContext = EVAL): Tensor {
    const [B, T, C] = x.shape;
    const H = this.nHead, D = this.headDim;
    const qkv = this.c_attn.forward(x, ctx);                      // (B, T, 3C)
    const split = qkv.reshape([B, T, 3, H, D]);
    const heads = permute(split, [2, 0, 3, 1, 4]);                // (3, B, H, T, D)
    ctx.release([qkv, split]);
    let q = heads.select(0), k = heads.select(1);
    const v = heads.select(2);                                    // (B, H, T, D) each
    if (this.ropeBase !== null) {
      const rope = ropeOp();
      const q0 = q, k0 = k;
      q = rope(q0, { base: this.ropeBase });
      k = rope(k0, { base: this.ropeBase });
      ctx.release([q0, k0]);
    }
    const y = attention(q, k, v, { mask: 'causal' });             // (B, H, T, D)
    ctx.release([q, k, v, heads]);
    const merged = permute(y, [0, 2, 1, 3]);                      // (B, T, H, D)
    const flat = merged.reshape([B, T, C]);
    ctx.release([y]);
    const out = this.c_proj.forward(flat, ctx);                   // (B, T, C)
    ctx.release([merged, flat]);
    return out;
  }
}
