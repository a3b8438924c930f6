/**
 * Activation functions. GELU uses the tanh approximation of GPT-2 and BERT:
 * gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). (matmul can also apply it as an epilogue.)
 */
import { record } from '../autograd';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, tensorArg } from './check';

interface ActivationNative {
  gelu(out: NativeTensor, x: NativeTensor): void;
  geluBackward(dx: NativeTensor, dout: NativeTensor, x: NativeTensor): void;
}
const nat = () => native<ActivationNative>();

/** GELU (tanh approximation), elementwise; f32 or bf16. Differentiable. */
export function gelu(x: Tensor): Tensor {
  const op = 'gelu';
  const tx = tensorArg(op, 'x', x);
  dtypeArg(op, 'x', tx, ['f32', 'bf16']);
  const { shape, dtype, device } = tx;
  const out = Tensor.empty(shape, { dtype, device });
  nat().gelu(out.handle, tx.handle);
  return record(op, out, [tx], (g) => {
    const dx = Tensor.empty(shape, { dtype, device });
    nat().geluBackward(dx.handle, g.handle, tx.handle);
    return [dx];
  });
}
