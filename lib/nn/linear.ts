/**
 * Linear: y = x·Wᵀ + b with W stored [out, in] (PyTorch's nn.Linear layout, the GEMM's transB path).
 * Why not HF GPT-2's Conv1D [in, out], which would make saved weights HF-compatible as they are: on
 * this CPU (AVX2, 2 threads) the forward GEMM was 10–25% faster with [out, in] at 1024×384×1152 and
 * 1024×384×1536, and forward + backward 2–8% faster; lib/models/gptHf.ts transposes the four
 * projection matrices at save/load time instead. GELU can be fused into the same
 * GEMM's epilogue. Under autocast the product runs in bf16 from the f32 master weights.
 */
import { matmul } from '../ops/matmul';
import { Tensor } from '../tensor';
import { ForwardContext } from './context';
import { checkParameter, Module } from './module';

const EVAL = new ForwardContext();

/** A fully connected layer holding weight [out, in] and an optional bias [out]. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  /** weight: f32 [out, in]; bias: f32 [out] or null. */
  constructor(weight: Tensor, bias: Tensor | null) {
    super();
    const op = 'Linear';
    const w = checkParameter(op, 'weight', weight, [-1, -1]);
    this.outFeatures = w.shape[0];
    this.inFeatures = w.shape[1];
    this.weight = this.registerParameter('weight', w);
    this.bias = bias === null ? null : this.registerParameter('bias', checkParameter(op, 'bias', bias, [this.outFeatures]));
  }

  /** x [..., in] → [..., out] in the context's compute dtype; `activation: 'gelu'` fuses GELU into the GEMM. */
  forward(x: Tensor, ctx: ForwardContext = EVAL, activation?: 'gelu'): Tensor {
    const xc = ctx.compute(x);
    const w = ctx.computeParam(this.weight);
    const b = this.bias ? ctx.computeParam(this.bias) : null;
    const y = matmul(xc, w, { transB: true, bias: b ?? undefined, activation });
    ctx.release([xc, w, b], x, this.weight, this.bias);
    return y;
  }
}
