/**
 * Fused multi-head attention, flash style: softmax(q·kᵀ·scale + mask)·v computed block by block
 * with an online softmax, so the (Tq, Tk) score matrix never exists in memory. The backward
 * recomputes the probabilities from the saved log-sum-exp.
 */
import { needsGrad, record } from '../autograd';
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, finiteArg, intArg, rankArg, sameDevice, sameDType, shapeArg, tensorArg } from './check';

interface AttentionNative {
  attentionForward(out: NativeTensor, lse: NativeTensor, q: NativeTensor, k: NativeTensor, v: NativeTensor,
    keyLengths: NativeTensor | null, mask: number, prefix: number, scale: number): void;
  attentionBackward(dq: NativeTensor, dk: NativeTensor, dv: NativeTensor, dout: NativeTensor, q: NativeTensor,
    k: NativeTensor, v: NativeTensor, out: NativeTensor, lse: NativeTensor, keyLengths: NativeTensor | null,
    mask: number, prefix: number, scale: number): void;
}
const nat = () => native<AttentionNative>();

/** The largest head dimension the kernels take. */
export const MAX_HEAD_DIM = 128;

/** Which keys each query may see. */
export type AttentionMask = 'causal' | 'none' | { prefix: number };

export interface AttentionOptions {
  /**
   * 'causal' (the default: query i sees keys up to its own position), 'none' (every key: an
   * encoder), or { prefix: P } (GLM: every query sees the first P keys, and causally after them).
   */
  mask?: AttentionMask;
  /**
   * i32 [B] on the same device: keys at positions >= keyLengths[b] are padding and never seen.
   * Values must lie in [0, Tk]; a value outside is reported by the kernel (at the next read) with
   * its index. A query that sees no key at all gets a zero output and zero gradients.
   */
  keyLengths?: Tensor;
  /** Multiplies q·kᵀ before the softmax; default 1/sqrt(D). */
  scale?: number;
}

const MASK_NONE = 0;
const MASK_CAUSAL = 1;
const MASK_PREFIX = 2;

function maskArg(op: string, mask: unknown, tk: number): [number, number] {
  if (mask === undefined || mask === 'causal') return [MASK_CAUSAL, 0];
  if (mask === 'none') return [MASK_NONE, 0];
  if (mask !== null && typeof mask === 'object' && !Array.isArray(mask) && 'prefix' in mask)
    return [MASK_PREFIX, intArg(op, 'mask.prefix', (mask as { prefix: unknown }).prefix, 0, tk)];
  throw argError(op, 'mask', "'causal', 'none' or { prefix: number }", describe(mask));
}

/**
 * Multi-head scaled dot-product attention: softmax(q·kᵀ·scale + mask)·v.
 *
 * q is [B, H, Tq, D]; k and v are [B, H, Tk, D] with Tq <= Tk; D is 1 to 128; f32 or bf16 (bf16 is
 * computed in f32). Queries are aligned to the end of the keys: query i sits at position
 * i + Tk - Tq, so one decode step against a cache of Tk keys is Tq = 1. Returns [B, H, Tq, D].
 * Differentiable in q, k and v.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const op = 'attention';
  const tq = tensorArg(op, 'q', q);
  const tk = tensorArg(op, 'k', k);
  const tv = tensorArg(op, 'v', v);
  dtypeArg(op, 'q', tq, ['f32', 'bf16']);
  sameDType(op, 'k', tk, 'q', tq);
  sameDType(op, 'v', tv, 'q', tq);
  sameDevice(op, 'k', tk, 'q', tq);
  sameDevice(op, 'v', tv, 'q', tq);
  rankArg(op, 'q', tq, [4]);
  rankArg(op, 'k', tk, [4]);
  const [B, H, Tq, D] = tq.shape;
  const Tk = tk.shape[2];
  if (D < 1 || D > MAX_HEAD_DIM)
    throw argError(op, 'q', `a head dimension (last dim) in [1, ${MAX_HEAD_DIM}]`, `${D} (shape [${tq.shape.join(', ')}])`);
  shapeArg(op, 'k', tk, [B, H, Tk, D]);
  shapeArg(op, 'v', tv, [B, H, Tk, D]);
  if (Tq > Tk) throw argError(op, 'q', `at most as many queries as keys (${Tk})`, `${Tq}`);
  if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
  const [mask, prefix] = maskArg(op, opts.mask, Tk);
  const scale = opts.scale === undefined ? 1 / Math.sqrt(D) : finiteArg(op, 'scale', opts.scale);
  let keyLengths: Tensor | null = null;
  if (opts.keyLengths !== undefined) {
    keyLengths = tensorArg(op, 'keyLengths', opts.keyLengths);
    dtypeArg(op, 'keyLengths', keyLengths, ['i32']);
    sameDevice(op, 'keyLengths', keyLengths, 'q', tq);
    shapeArg(op, 'keyLengths', keyLengths, [B]);
  }

  const out = Tensor.empty(tq.shape, { dtype: tq.dtype, device: tq.device });
  const lse = Tensor.empty([B, H, Tq], { dtype: 'f32', device: tq.device });
  nat().attentionForward(out.handle, lse.handle, tq.handle, tk.handle, tv.handle, keyLengths ? keyLengths.handle : null,
    mask, prefix, scale);
  if (!needsGrad(tq, tk, tv)) {
    lse.dispose();
    return out;
  }
  // Saved views, owned by the tape: backward works even if the caller disposed `out` or keyLengths.
  const outSaved = out.detach();
  const lengthsSaved = keyLengths ? keyLengths.detach() : null;
  const saved = lengthsSaved ? [lse, outSaved, lengthsSaved] : [lse, outSaved];
  return record(op, out, [tq, tk, tv], (g) => {
    const dq = Tensor.empty(tq.shape, { dtype: tq.dtype, device: tq.device });
    const dk = Tensor.empty(tk.shape, { dtype: tk.dtype, device: tk.device });
    const dv = Tensor.empty(tv.shape, { dtype: tv.dtype, device: tv.device });
    nat().attentionBackward(dq.handle, dk.handle, dv.handle, g.handle, tq.handle, tk.handle, tv.handle,
      outSaved.handle, lse.handle, lengthsSaved ? lengthsSaved.handle : null, mask, prefix, scale);
    const keepIf = (t: Tensor, want: boolean) => {
      if (want) return t;
      t.dispose();
      return null;
    };
    return [keepIf(dq, tq.requiresGrad), keepIf(dk, tk.requiresGrad), keepIf(dv, tv.requiresGrad)];
  }, saved);
}
