/** LayerNorm over the last dimension with a gain and an optional bias; always in f32 (the residual stream's dtype). */
import { layerNorm } from '../ops/layerNorm';
import { Tensor } from '../tensor';
import { checkParameter, Module } from './module';

/** GPT-2's LayerNorm epsilon. */
export const LAYER_NORM_EPS = 1e-5;

/** LayerNorm holding weight [dim] and an optional bias [dim]. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly eps: number;

  /** weight: f32 [dim]; bias: f32 [dim] or null. */
  constructor(weight: Tensor, bias: Tensor | null, eps = LAYER_NORM_EPS) {
    super();
    const w = checkParameter('LayerNorm', 'weight', weight, [-1]);
    this.weight = this.registerParameter('weight', w);
    this.bias = bias === null ? null : this.registerParameter('bias', checkParameter('LayerNorm', 'bias', bias, w.shape));
    this.eps = eps;
  }

  /** x [..., dim] (f32) → [..., dim]. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
