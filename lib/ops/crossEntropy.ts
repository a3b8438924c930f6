/**
 * Fused softmax cross-entropy: the loss and its gradient with respect to the logits in one native
 * pass, never materialising the probabilities. The gradient is computed by the forward (when the
 * logits need one) and kept by the tape, so backward only scales it by the upstream gradient.
 */
import { needsGrad, record } from '../autograd';
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { boolArg, dtypeArg, intArg, sameDevice, shapeArg, tensorArg } from './check';

interface CrossEntropyNative {
  softmaxCrossEntropy(
    loss: NativeTensor, validCount: NativeTensor | null, dlogits: NativeTensor | null, logits: NativeTensor,
    targets: NativeTensor, ignoreIndex: number, meanReduction: boolean): void;
  mul(out: NativeTensor, a: NativeTensor, b: NativeTensor): void;
}
const nat = () => native<CrossEntropyNative>();

/** Options of {@link softmaxCrossEntropy}. */
export interface CrossEntropyOptions {
  /** Rows whose target equals this do not count (no loss, zero gradient). Default -100. */
  ignoreIndex?: number;
  /** 'mean' (default) over the counted rows, or 'sum'. */
  reduction?: 'mean' | 'sum';
  /**
   * Write the gradient over the logits instead of into a new tensor, saving N·V memory. The logits
   * are then consumed: after this call (when they require grad) their contents are the gradient,
   * not the logits. Default false.
   */
  inPlace?: boolean;
}

const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

/**
 * The cross-entropy of softmax(logits) against integer targets, as an f32 scalar.
 *
 * logits [..., V] (f32 or bf16); targets i32 with the logits' leading shape [...]. Each counted row
 * contributes logsumexp(row) - row[target]; the result is their mean ('mean', the default) or sum.
 * Rows whose target is `ignoreIndex` are not counted. With 'mean' and no counted row at all the
 * loss is 0 (not NaN) and so is the gradient. A target outside [0, V) that is not `ignoreIndex` is
 * an error of the device: the op returns at once and the next read (`await loss.item()`) throws,
 * naming the row and the value.
 *
 * Differentiable in `logits`; `targets` get no gradient.
 */
export function softmaxCrossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  const x = tensorArg(op, 'logits', logits);
  const t = tensorArg(op, 'targets', targets);
  dtypeArg(op, 'logits', x, ['f32', 'bf16']);
  if (x.rank < 1 || x.shape[x.rank - 1] < 1)
    throw argError(op, 'logits', 'a tensor of shape [..., V] with V >= 1', `shape [${x.shape.join(', ')}]`);
  dtypeArg(op, 'targets', t, ['i32']);
  sameDevice(op, 'targets', t, 'logits', x);
  shapeArg(op, 'targets', t, x.shape.slice(0, -1));
  if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
  const ignoreIndex = intArg(op, 'ignoreIndex', opts.ignoreIndex ?? -100, INT32_MIN, INT32_MAX);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum')
    throw argError(op, 'reduction', '"mean" or "sum"', describe(reduction));
  const inPlace = boolArg(op, 'inPlace', opts.inPlace ?? false);

  const loss = Tensor.empty([], { dtype: 'f32', device: x.device });
  const grad = needsGrad(x);
  // The gradient for d(loss) = 1, owned by the tape once recorded.
  const dlogits = grad ? (inPlace ? x.detach() : Tensor.empty(x.shape, { dtype: x.dtype, device: x.device })) : null;
  // No validCount tensor: the kernel divides the mean by the count itself.
  nat().softmaxCrossEntropy(loss.handle, null, dlogits ? dlogits.handle : null, x.handle, t.handle,
    ignoreIndex, reduction === 'mean');
  if (!dlogits) return loss;
  const saved = [dlogits];
  return record(op, loss, [x], (g) => {
    // Hand the saved gradient itself on: take it off the tape's list so releasing the tape does not
    // free it, then scale it in place unless the upstream gradient is known to be 1.
    saved.length = 0;
    if (g._constant !== 1) {
      const s = g.dtype === dlogits.dtype ? g : g.cast(dlogits.dtype);
      nat().mul(dlogits.handle, dlogits.handle, s.handle);
      if (s !== g) s.dispose();
    }
    return [dlogits];
  }, saved);
}
