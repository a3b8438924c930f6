/**
 * LayerNorm over the last dimension, fused: one native op forward (which also saves each row's mean
 * and 1/std for the backward) and one backward giving dx, dweight and dbias together.
 */
import { needsGrad, record } from '../autograd';
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, sameDevice, sameDType, shapeArg, tensorArg } from './check';

interface LayerNormNative {
  layerNormForward(out: NativeTensor, mean: NativeTensor | null, rstd: NativeTensor | null, x: NativeTensor, weight: NativeTensor,
    bias: NativeTensor | null, eps: number): void;
  layerNormBackward(dx: NativeTensor, dweight: NativeTensor, dbias: NativeTensor | null, dout: NativeTensor,
    x: NativeTensor, weight: NativeTensor, mean: NativeTensor, rstd: NativeTensor): void;
}
const nat = () => native<LayerNormNative>();

/**
 * LayerNorm over the last dimension: (x - mean) / sqrt(var + eps) · weight + bias, with the mean
 * and the (biased) variance of each row of x.
 *
 * x [..., C] (f32 or bf16, computed in f32); weight [C] and bias [C] (or null) of x's dtype and
 * device; eps a finite number > 0. Differentiable in x, weight and bias.
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  const tx = tensorArg(op, 'x', x);
  dtypeArg(op, 'x', tx, ['f32', 'bf16']);
  if (tx.rank < 1 || tx.shape[tx.rank - 1] < 1)
    throw argError(op, 'x', 'a tensor of shape [..., C] with C >= 1', `shape [${tx.shape.join(', ')}]`);
  const C = tx.shape[tx.rank - 1];
  const tw = tensorArg(op, 'weight', weight);
  sameDType(op, 'weight', tw, 'x', tx);
  sameDevice(op, 'weight', tw, 'x', tx);
  shapeArg(op, 'weight', tw, [C]);
  let tb: Tensor | null = null;
  if (bias !== null) {
    tb = tensorArg(op, 'bias', bias);
    sameDType(op, 'bias', tb, 'x', tx);
    sameDevice(op, 'bias', tb, 'x', tx);
    shapeArg(op, 'bias', tb, [C]);
  }
  // The kernels add eps in f32: it must stay finite and non-zero there to guard a zero variance.
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(Math.fround(eps)) || Math.fround(eps) === 0)
    throw argError(op, 'eps', 'a finite number > 0 (as an f32)', describe(eps));

  const N = tx.numel / C;
  const { dtype, device } = tx;
  const out = Tensor.empty(tx.shape, { dtype, device });
  if (!needsGrad(tx, tw, tb)) {
    // Nothing will run a backward: the per-row statistics are not kept (two tensors fewer per call,
    // which counts in a decode step's host time).
    nat().layerNormForward(out.handle, null, null, tx.handle, tw.handle, tb ? tb.handle : null, eps);
    return out;
  }
  const mean = Tensor.empty([N], { dtype: 'f32', device });
  const rstd = Tensor.empty([N], { dtype: 'f32', device });
  nat().layerNormForward(out.handle, mean.handle, rstd.handle, tx.handle, tw.handle, tb ? tb.handle : null, eps);
  // Views of x and weight on the tape keep their memory for the backward even if the caller frees them.
  const xSaved = tx.detach(), wSaved = tw.detach();
  return record(op, out, [tx, tw, tb], (g) => {
    const dx = Tensor.empty(tx.shape, { dtype, device });
    const dw = Tensor.empty([C], { dtype, device });
    const db = tb ? Tensor.empty([C], { dtype, device }) : null;
    nat().layerNormBackward(dx.handle, dw.handle, db ? db.handle : null, g.handle, xSaved.handle, wSaved.handle,
      mean.handle, rstd.handle);
    return [dx, dw, db];
  }, [mean, rstd, xSaved, wSaved]);
}
