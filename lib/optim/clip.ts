/**
 * Gradient-norm clipping without a round trip to JS: the global L2 norm of all gradients is summed
 * on the device into one scalar, from which the clipping coefficient is computed on the device too.
 * The coefficient is then either handed to the optimizer (`opt.step({ gradScale: coef })`, which
 * costs no extra pass over the gradients) or applied with scaleGradsInPlace.
 */
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';

interface ClipNative {
  sumSquares(sumSq: NativeTensor, xs: NativeTensor[]): void;
  clipCoefficient(norm: NativeTensor, coef: NativeTensor, sumSq: NativeTensor, maxNorm: number): void;
  mul(out: NativeTensor, a: NativeTensor, b: NativeTensor): void;
  scale(out: NativeTensor, a: NativeTensor, s: number): void;
}
const nat = () => native<ClipNative>();

/** The live gradients of `params` (parameters without one are skipped) and their common device. */
function gradsOf(op: string, params: unknown): { grads: Tensor[]; device: string } {
  if (!Array.isArray(params) || params.length === 0) throw argError(op, 'params', 'a non-empty array of tensors', describe(params));
  const grads: Tensor[] = [];
  let device = '';
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw argError(op, `params[${i}]`, 'a Tensor', describe(p));
    if (p.disposed) throw argError(op, `params[${i}]`, 'a live tensor', 'a disposed tensor');
    device ||= p.device;
    if (p.device !== device) throw argError(op, `params[${i}]`, `a tensor on ${device} (as params[0])`, `one on ${p.device}`);
    const g = p.grad;
    if (!g) return;
    if (g.disposed) throw argError(op, `params[${i}].grad`, 'a live tensor', 'a disposed tensor');
    if (g.dtype !== 'f32' && g.dtype !== 'bf16') throw argError(op, `params[${i}].grad`, 'dtype f32 or bf16', g.dtype);
    if (g.device !== device) throw argError(op, `params[${i}].grad`, `a tensor on ${device}`, `one on ${g.device}`);
    grads.push(g);
  });
  return { grads, device };
}

function normAndCoef(op: string, params: unknown, maxNorm: number): { norm: Tensor; coef: Tensor } {
  const { grads, device } = gradsOf(op, params);
  const sumSq = Tensor.zeros([], { device });
  nat().sumSquares(sumSq.handle, grads.map((g) => g.handle));
  const norm = Tensor.empty([], { device });
  const coef = Tensor.empty([], { device });
  nat().clipCoefficient(norm.handle, coef.handle, sumSq.handle, maxNorm);
  sumSq.dispose();
  return { norm, coef };
}

/**
 * The global L2 norm of the parameters' gradients (all of them as one vector), as an f32 scalar
 * tensor on their device. Parameters without a gradient count as zero.
 */
export function gradNorm(params: Tensor[]): Tensor {
  const { norm, coef } = normAndCoef('gradNorm', params, 1);
  coef.dispose();
  return norm;
}

/**
 * Computes, on the device, the global gradient norm and the clipping coefficient
 * coef = min(1, maxNorm / (norm + 1e-6)) (PyTorch's clip_grad_norm_ rule). The gradients are NOT
 * changed: pass `coef` to `optimizer.step({ gradScale: coef })`, or apply it with scaleGradsInPlace.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): { norm: Tensor; coef: Tensor } {
  const op = 'clipGradNorm';
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0)
    throw argError(op, 'maxNorm', 'a finite number > 0', describe(maxNorm));
  return normAndCoef(op, params, maxNorm);
}

/**
 * Multiplies every gradient of `params` in place by `coef`: a number, or an f32 one-element tensor
 * on their device (such as clipGradNorm's coef, read on the device, never in JS).
 */
export function scaleGradsInPlace(params: Tensor[], coef: Tensor | number): void {
  const op = 'scaleGradsInPlace';
  const { grads, device } = gradsOf(op, params);
  if (typeof coef === 'number') {
    if (!Number.isFinite(coef)) throw argError(op, 'coef', 'a finite number or an f32 scalar tensor', describe(coef));
    for (const g of grads) {
      g._constant = undefined;
      nat().scale(g.handle, g.handle, coef);
    }
    return;
  }
  if (!(coef instanceof Tensor) || coef.disposed || coef.dtype !== 'f32' || coef.numel !== 1 || coef.device !== device)
    throw argError(op, 'coef', `a finite number or an f32 one-element tensor on ${device}`, describe(coef));
  const scalar = coef.rank === 0 ? coef : coef.reshape([]);
  let asBf16: Tensor | null = null;
  for (const g of grads) {
    g._constant = undefined;
    if (g.dtype === 'f32') {
      nat().mul(g.handle, g.handle, scalar.handle);
    } else {
      // mul needs one dtype: the coefficient rounded to bf16, as the product is rounded anyway.
      if (!asBf16) {
        asBf16 = Tensor.empty([], { dtype: 'bf16', device });
        native().copy(asBf16.handle, scalar.handle);
      }
      nat().mul(g.handle, g.handle, asBf16.handle);
    }
  }
  asBf16?.dispose();
  if (scalar !== coef) scalar.dispose();
}
