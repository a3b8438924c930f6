/**
 * Layout ops that copy: permute and transpose (up to 6 dims, any dtype). Used to split fused QKV
 * projections into heads, (B, T, 3, H, D) -> (3, B, H, T, D), and to merge heads back,
 * (B, H, T, D) -> (B, T, H, D). Differentiable: the backward permutes the gradient back.
 */
import { record } from '../autograd';
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { intArg, tensorArg } from './check';

interface LayoutNative {
  permute(out: NativeTensor, x: NativeTensor, perm: number[]): void;
}
const nat = () => native<LayoutNative>();

/** The most dims permute supports (the native kernels' fixed-size index arrays). */
export const MAX_PERMUTE_RANK = 6;

/** Checks `perm` is a permutation of 0..rank-1 (negative entries count from the end); returns it normalised. */
function permArg(op: string, perm: unknown, rank: number): number[] {
  const expected = `a permutation of ${rank} dims (0..${rank - 1}, or negative from the end)`;
  if (!Array.isArray(perm)) throw argError(op, 'perm', expected, describe(perm));
  const shown = () => `[${perm.map(describe).join(', ')}]`;
  if (perm.length !== rank) throw argError(op, 'perm', expected, shown());
  const seen = new Array<boolean>(rank).fill(false);
  const out: number[] = [];
  for (const d of perm) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < -rank || d >= rank) throw argError(op, 'perm', expected, shown());
    const k = d < 0 ? d + rank : d;
    if (seen[k]) throw argError(op, 'perm', expected, `${shown()} (dim ${k} twice)`);
    seen[k] = true;
    out.push(k);
  }
  return out;
}

function permuteChecked(op: string, x: Tensor, perm: number[]): Tensor {
  const out = Tensor.empty(perm.map((d) => x.shape[d]), { dtype: x.dtype, device: x.device });
  nat().permute(out.handle, x.handle, perm);
  const inverse = new Array<number>(perm.length);
  perm.forEach((d, i) => (inverse[d] = i));
  return record(op, out, [x], (g) => [permuteChecked(op, g, inverse)]);
}

/**
 * A copy of x with its dims reordered: output dim i is x's dim perm[i], so
 * permute(x of shape (B, T, 3, H, D), [2, 0, 3, 1, 4]) has shape (3, B, H, T, D).
 * Any dtype, at most 6 dims. Differentiable.
 */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const op = 'permute';
  const tx = tensorArg(op, 'x', x);
  if (tx.rank > MAX_PERMUTE_RANK)
    throw argError(op, 'x', `a tensor of at most ${MAX_PERMUTE_RANK} dims`, `shape [${tx.shape.join(', ')}]`);
  return permuteChecked(op, tx, permArg(op, perm, tx.rank));
}

/** A copy of x with dims dim0 and dim1 swapped (negative dims count from the end). Differentiable. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const op = 'transpose';
  const tx = tensorArg(op, 'x', x);
  if (tx.rank > MAX_PERMUTE_RANK)
    throw argError(op, 'x', `a tensor of at most ${MAX_PERMUTE_RANK} dims`, `shape [${tx.shape.join(', ')}]`);
  if (tx.rank === 0) throw argError(op, 'x', 'a tensor with at least 1 dim', 'a scalar');
  const r = tx.rank;
  const a = intArg(op, 'dim0', dim0, -r, r - 1);
  const b = intArg(op, 'dim1', dim1, -r, r - 1);
  const perm = Array.from({ length: r }, (_, i) => i);
  const i = a < 0 ? a + r : a, j = b < 0 ? b + r : b;
  perm[i] = j;
  perm[j] = i;
  return permuteChecked(op, tx, perm);
}
