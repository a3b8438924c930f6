/**
 * Dropout with a counter-based mask: element j keeps x[j] / (1 − p) unless the Philox-4x32-10 word
 * of counter offset + j (under key `seed`) falls below p·2^32, and is 0 otherwise. The mask is a
 * function of (seed, offset) alone, identical on CPU and CUDA, so the backward recomputes it instead
 * of saving it: no mask memory. The exact bit layout is in native/cpu/dropout.h.
 */
import { record } from '../autograd';
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, intArg, tensorArg } from './check';

interface DropoutNative {
  dropout(out: NativeTensor, x: NativeTensor, p: number, seed: number, offset: number): void;
}
const nat = () => native<DropoutNative>();

/** Seeds and counters are integers below 2^53, so that they travel from JavaScript exactly. */
const MAX_COUNTER = 2 ** 53 - 1;

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** The key of the random stream: an integer in [0, 2^53). */
  seed: number;
  /**
   * The counter of the first element (default 0): an integer >= 0 with offset + numel <= 2^53.
   * Calls that share a seed draw independent masks when their counter ranges do not overlap, e.g.
   * by advancing the offset by numel after each call.
   */
  offset?: number;
}

/**
 * Inverted dropout: y = x · keep / (1 − p), with keep drawn with probability 1 − p per element
 * from (seed, offset + element index). A dropped element is exactly 0, even where x is not finite.
 *
 * x: f32 or bf16, any shape, on any device; p: the drop probability, a number in [0, 1). With p = 0
 * the result is x itself (no copy, nothing recorded). Differentiable: dx = dout · keep / (1 − p)
 * with the same mask, recomputed.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions): Tensor {
  const op = 'dropout';
  const tx = tensorArg(op, 'x', x);
  dtypeArg(op, 'x', tx, ['f32', 'bf16']);
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw argError(op, 'p', 'a number in [0, 1)', describe(p));
  if (opts === null || typeof opts !== 'object')
    throw argError(op, 'opts', 'an options object { seed, offset? }', describe(opts));
  const seed = intArg(op, 'seed', opts.seed, 0, MAX_COUNTER);
  const offset = intArg(op, 'offset', opts.offset ?? 0, 0, MAX_COUNTER);
  // Compared by subtraction: offset + numel itself may round (to even) near 2^53.
  if (offset > MAX_COUNTER + 1 - tx.numel)
    throw argError(op, 'offset', `an offset with offset + numel <= 2^53 (numel ${tx.numel})`, describe(offset));
  if (p === 0) return tx;

  const { shape, dtype, device } = tx;
  const out = Tensor.empty(shape, { dtype, device });
  nat().dropout(out.handle, tx.handle, p, seed, offset);
  return record(op, out, [tx], (g) => {
    const dx = Tensor.empty(shape, { dtype, device });
    // The upstream gradient may arrive in another dtype; the mask is applied in x's.
    const gx = g.dtype === dtype ? g : g.cast(dtype);
    nat().dropout(dx.handle, gx.handle, p, seed, offset);
    if (gx !== g) gx.dispose();
    return [dx];
  });
}
