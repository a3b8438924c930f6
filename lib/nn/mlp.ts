/** GPT-2's feed-forward block: c_fc (C → 4C) with GELU fused into its GEMM, then c_proj (4C → C). */
import { argError } from '../errors';
import { Tensor } from '../tensor';
import { ForwardContext } from './context';
import { Linear } from './linear';
import { Module } from './module';

const EVAL = new ForwardContext();

/** The MLP holding c_fc and c_proj. */
export class MLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;

  constructor(c_fc: Linear, c_proj: Linear) {
    super();
    if (c_proj.inFeatures !== c_fc.outFeatures || c_proj.outFeatures !== c_fc.inFeatures)
      throw argError('MLP', 'c_proj', `a Linear ${c_fc.outFeatures} → ${c_fc.inFeatures} (inverse of c_fc)`,
        `${c_proj.inFeatures} → ${c_proj.outFeatures}`);
    this.c_fc = this.registerModule('c_fc', c_fc);
    this.c_proj = this.registerModule('c_proj', c_proj);
  }

  /** x [..., C] → [..., C] in the context's compute dtype. */
  forward(x: Tensor, ctx: ForwardContext = EVAL): Tensor {
    const h = this.c_fc.forward(x, ctx, 'gelu');  // (..., 4C)
    const y = this.c_proj.forward(h, ctx);
    ctx.release([h]);
    return y;
  }
}
