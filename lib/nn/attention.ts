/**
 * Multi-head self-attention as in GPT-2: one fused projection to q, k, v (c_attn), the fused
 * attention kernel (the (T, T) scores never exist) with the pass's mask (causal for a decoder, none
 * for an encoder, prefix for GLM; see ForwardContext), and an output projection (c_proj). With RoPE, q and k are rotated after the split. There is no dropout on the attention
 * probabilities: the fused kernel has none (residual dropout after c_proj is the model's job).
 * `forwardCached` is the decoding path: new keys and values are appended to a KV cache and the
 * queries attend to everything cached (see kvCache.ts).
 */
import { argError, describe } from '../errors';
import { attention, MAX_HEAD_DIM } from '../ops/attention';
import { ropeAt } from '../ops/rope';
import { permute } from '../ops/layout';
import { Tensor } from '../tensor';
import { ForwardContext } from './context';
import { Linear } from './linear';
import { Module } from './module';
import { ropeOp } from './availableOps';
import { cachePrefix, CacheStep, LayerKV, writeCache, writeCacheAt } from './kvCache';

const EVAL = new ForwardContext();

/** Options of {@link CausalSelfAttention}. */
export interface SelfAttentionOptions {
  /** Rotate q and k with RoPE of this base (theta); absent: no rotation (positions come from elsewhere). */
  ropeBase?: number;
}

/** Self-attention holding c_attn (C → 3C) and c_proj (C → C). */
export class SelfAttention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  readonly nHead: number;
  readonly headDim: number;
  readonly ropeBase: number | null;

  constructor(c_attn: Linear, c_proj: Linear, nHead: number, opts: SelfAttentionOptions = {}) {
    super();
    const op = 'SelfAttention';
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

  /** x [B, T, C] → [B, T, C] in the context's compute dtype, under the context's mask and key lengths. */
  forward(x: Tensor, ctx: ForwardContext = EVAL): Tensor {
    const { q, k, v, heads } = this.project(x, ctx, 0);
    const y = attention(q, k, v, ctx.keyLengths ? { mask: ctx.attentionMask, keyLengths: ctx.keyLengths } : { mask: ctx.attentionMask });  // (B, H, T, D)
    ctx.release([q, k, v, heads]);
    return this.output(y, x.shape, ctx);
  }

  /**
   * The decoding path, without gradients: x [B, T, C] holds each row's new tokens (row b's first
   * step.count[b] are real, the rest right padding), at positions step.start[b] + t. Their keys and
   * values are written into `kv` (this layer's cache buffers [B, H, maxLength, D]) and the queries
   * attend causally to the row's cached keys and their own. Returns [B, T, C]; padded positions
   * hold values that nothing should read.
   */
  forwardCached(x: Tensor, kv: LayerKV, step: CacheStep, ctx: ForwardContext = EVAL): Tensor {
    const T = x.shape[1];
    // Device positions serve one-token steps (a replayed graph's).
    if (step.positions && T !== 1)
      throw argError('SelfAttention.forwardCached', 'step', 'host positions, or device positions for one token per row', `device positions with T = ${T}`);
    const { q, k, v, heads } = this.project(x, ctx, step.positions ?? step.uniformStart ?? step.start);
    if (step.positions) {
      writeCacheAt(kv.k, k, step.positions);
      writeCacheAt(kv.v, v, step.positions);
    } else {
      writeCache(kv.k, k, step.start, step.count);
      writeCache(kv.v, v, step.start, step.count);
    }
    let y: Tensor;
    if (step.uniformStart === 0 && !step.positions) {
      // A fresh prefill: the new keys are all there is, and the causal mask keeps each real query
      // away from the right padding after it.
      y = attention(q, k, v, { mask: 'causal' });
    } else if (T === 1) {
      // One query per row, aligned to the end of the whole buffer: the causal limit is the buffer's
      // end and keyLengths cuts each row to its own length (the kernels skip the keys past it).
      y = attention(q, kv.k, kv.v, { mask: 'causal', keyLengths: step.keyLengths });
    } else if (step.uniformStart !== null) {
      // Several new tokens after a common prefix: the queries must sit at start + t, so attention
      // gets exactly start + T keys (gathered contiguous) and aligns them to the end.
      const len = step.uniformStart + T;
      const kAll = cachePrefix(kv.k, len), vAll = cachePrefix(kv.v, len);
      y = attention(q, kAll, vAll, { mask: 'causal' });
      kAll.dispose();
      vAll.dispose();
    } else {
      throw argError('SelfAttention.forwardCached', 'step', 'one token per row, or rows with one common start', `T = ${T}, starts ${step.start.join(', ')}`);
    }
    ctx.release([q, k, v, heads]);
    return this.output(y, x.shape, ctx);
  }

  /** q, k, v [B, H, T, D] from x [B, T, C], rope applied at the given position (per row: an array, or an i32 [B] device tensor). */
  private project(x: Tensor, ctx: ForwardContext, position: number | readonly number[] | Tensor): { q: Tensor; k: Tensor; v: Tensor; heads: Tensor } {
    const [B, T] = x.shape;
    const H = this.nHead, D = this.headDim;
    const qkv = this.c_attn.forward(x, ctx);                      // (B, T, 3C)
    const split = qkv.reshape([B, T, 3, H, D]);
    // (3, B, H, T, D); for one token of one row the permutation moves no element (decode at batch 1).
    const heads = B === 1 && T === 1 ? split.reshape([3, B, H, T, D]) : permute(split, [2, 0, 3, 1, 4]);
    ctx.release([qkv, split]);
    let q = heads.select(0), k = heads.select(1);
    const v = heads.select(2);                                    // (B, H, T, D) each
    if (this.ropeBase !== null) {
      const q0 = q, k0 = k;
      q = this.rotate(q0, position);
      k = this.rotate(k0, position);
      ctx.release([q0, k0]);
    }
    return { q, k, v, heads };
  }

  /** rope of x [B, H, T, D] with row t of batch item b at position(b) + t. */
  private rotate(x: Tensor, position: number | readonly number[] | Tensor): Tensor {
    const base = this.ropeBase!;
    if (typeof position === 'number') return ropeOp()(x, { base, positionOffset: position });
    if (position instanceof Tensor) return ropeAt(x, position, { base });
    // Per-row host positions (decoding rows of different lengths, without gradients): one op.
    const positions = Tensor.from(Int32Array.from(position), [position.length], { dtype: 'i32', device: x.device });
    const out = ropeAt(x, positions, { base });
    positions.dispose();
    return out;
  }

  /** y [B, H, T, D] → c_proj of the merged heads, [B, T, C]. */
  private output(y: Tensor, shape: readonly number[], ctx: ForwardContext): Tensor {
    const [B, T, C] = shape;
    // (B, T, H, D); with one token per row (a decode step) that is y's own memory order.
    const merged = T === 1 ? y.reshape([B, T, this.nHead, this.headDim]) : permute(y, [0, 2, 1, 3]);
    const flat = merged.reshape([B, T, C]);
    ctx.release([y]);
    const out = this.c_proj.forward(flat, ctx);                   // (B, T, C)
    ctx.release([merged, flat]);
    return out;
  }
}

/** The name GPT code knew it by: a decoder's self-attention is SelfAttention under the default causal mask. */
export const CausalSelfAttention = SelfAttention;
/** Options of {@link CausalSelfAttention} (the same as SelfAttention's). */
export type CausalSelfAttentionOptions = SelfAttentionOptions;
