/**
 * A pre-LayerNorm transformer block (GPT-2): x + drop(attn(ln_1(x))), then + drop(mlp(ln_2(x))).
 * The residual stream and LayerNorms stay in x's dtype (f32); the attention and MLP outputs come
 * back from the compute dtype before dropout and the residual add. forwardCached is the decoding
 * path (attention through a KV cache).
 */
import { add } from '../ops/elementwise';
import { Tensor } from '../tensor';
import { SelfAttention } from './attention';
import { ForwardContext } from './context';
import type { CacheStep, LayerKV } from './kvCache';
import { LayerNorm } from './layerNorm';
import { MLP } from './mlp';
import { Module } from './module';

const EVAL = new ForwardContext();

/** One block holding ln_1, attn, ln_2, mlp. */
export class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;

  constructor(ln_1: LayerNorm, attn: SelfAttention, ln_2: LayerNorm, mlp: MLP) {
    super();
    this.ln_1 = this.registerModule('ln_1', ln_1);
    this.attn = this.registerModule('attn', attn);
    this.ln_2 = this.registerModule('ln_2', ln_2);
    this.mlp = this.registerModule('mlp', mlp);
  }

  /** x [B, T, C] (the f32 residual stream) → [B, T, C]; x itself is left to the caller. */
  forward(x: Tensor, ctx: ForwardContext = EVAL): Tensor {
    return this.run(x, (h) => this.attn.forward(h, ctx), ctx);
  }

  /** The decoding path: as forward, with attention appending to and reading this layer's KV cache. */
  forwardCached(x: Tensor, kv: LayerKV, step: CacheStep, ctx: ForwardContext = EVAL): Tensor {
    return this.run(x, (h) => this.attn.forwardCached(h, kv, step, ctx), ctx);
  }

  private run(x: Tensor, attend: (h: Tensor) => Tensor, ctx: ForwardContext): Tensor {
    const a = this.branch(x, this.ln_1, attend, ctx);
    const x1 = add(x, a);
    ctx.release([a]);
    const m = this.branch(x1, this.ln_2, (h) => this.mlp.forward(h, ctx), ctx);
    const x2 = add(x1, m);
    ctx.release([x1, m]);
    return x2;
  }

  /** drop(f(ln(x))) back in x's dtype. */
  private branch(x: Tensor, ln: LayerNorm, f: (h: Tensor) => Tensor, ctx: ForwardContext): Tensor {
    const h = ln.forward(x);
    const y = f(h);
    const back = y.cast(x.dtype);
    const dropped = ctx.dropout(back);
    ctx.release([h, y, back], dropped);
    return dropped;
  }
}
