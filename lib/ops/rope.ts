/**
 * Rotary position embedding (RoPE), in the GPT-NeoX / Hugging Face Llama "rotate_half" layout: in
 * each head vector of D values, the pair (i, i + D/2) for i < D/2 is rotated by pos · theta_i with
 * theta_i = base^(−2i/D). The angles and their cos/sin are computed in double precision by the
 * kernels (see native/cpu/rope.h), so large positions keep their accuracy; the rotation is in f32.
 */
import { isGradEnabled, record } from '../autograd';
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, intArg, rankArg, tensorArg } from './check';

interface RopeNative {
  rope(out: NativeTensor, x: NativeTensor, base: number, positionOffset: number): void;
  ropeBackward(dx: NativeTensor, dout: NativeTensor, base: number, positionOffset: number): void;
  ropeAt(out: NativeTensor, x: NativeTensor, base: number, positions: NativeTensor): void;
}
const nat = () => native<RopeNative>();

/** The largest head dimension D the kernels take. */
export const ROPE_MAX_HEAD_DIM = 256;
/** Positions (positionOffset + t) stay at most 2^31 − 1. */
const MAX_POSITION = 2 ** 31 - 1;

/** Options of {@link rope}. */
export interface RopeOptions {
  /** The base of the frequencies theta_i = base^(−2i/D): a finite number > 0. Default 10000. */
  base?: number;
  /**
   * The position of row t = 0 (default 0): row t is at positionOffset + t. For decoding with a KV
   * cache, the new token of a sequence holding N cached tokens is at positionOffset N.
   */
  positionOffset?: number;
}

/** x as rope takes it ([B, H, T, D], f32 or bf16, D even in 2..256) and opts.base (default 10000). */
function checkRope(op: string, x: unknown, opts: { base?: number }): { tx: Tensor; base: number } {
  const tx = tensorArg(op, 'x', x);
  dtypeArg(op, 'x', tx, ['f32', 'bf16']);
  rankArg(op, 'x', tx, [4]);
  const D = tx.shape[3];
  if (D < 2 || D > ROPE_MAX_HEAD_DIM || D % 2 !== 0)
    throw argError(op, 'x', `a last dimension D that is even and in [2, ${ROPE_MAX_HEAD_DIM}]`, `shape [${tx.shape.join(', ')}]`);
  if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
  const base = opts.base ?? 10000;
  if (typeof base !== 'number' || !Number.isFinite(base) || !(base > 0))
    throw argError(op, 'base', 'a finite number > 0', describe(base));
  return { tx, base };
}

/**
 * rope of x [B, H, T, D] with row t of batch item b at positions[b] + t: positions is an i32 [B]
 * tensor on x's device, read when the op runs (decoding: each row's cache length, which a replayed
 * step graph uploads; an out-of-range position is a deferred error of the op). No gradient.
 */
export function ropeAt(x: Tensor, positions: Tensor, opts: { base?: number } = {}): Tensor {
  const op = 'ropeAt';
  const { tx, base } = checkRope(op, x, opts);
  if (isGradEnabled() && tx.requiresGrad) throw argError(op, 'x', 'a tensor without gradient (ropeAt has no backward; use rope)', 'one that requires grad');
  const B = tx.shape[0];
  const tp = tensorArg(op, 'positions', positions);
  dtypeArg(op, 'positions', tp, ['i32']);
  if (tp.rank !== 1 || tp.shape[0] !== B) throw argError(op, 'positions', `an i32 tensor [${B}] (x's batch)`, tp.describe());
  if (tp.device !== tx.device) throw argError(op, 'positions', `a tensor on ${tx.device} (x's device)`, `one on ${tp.device}`);
  const out = Tensor.empty(tx.shape, { dtype: tx.dtype, device: tx.device });
  nat().ropeAt(out.handle, tx.handle, base, tp.handle);
  return out;
}

/**
 * Applies rotary position embeddings to x [B, H, T, D] (queries or keys; D even, 2 to 256; f32 or
 * bf16, computed in f32): for i < D/2 and angle a = (positionOffset + t) · base^(−2i/D),
 *   y[i] = x[i]·cos a − x[i + D/2]·sin a,   y[i + D/2] = x[i + D/2]·cos a + x[i]·sin a.
 * Differentiable: the backward rotates the gradient by −a.
 */
export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  const op = 'rope';
  const { tx, base } = checkRope(op, x, opts);
  const T = tx.shape[2];
  const positionOffset = intArg(op, 'positionOffset', opts.positionOffset ?? 0, 0, MAX_POSITION);
  if (T > 0 && positionOffset + T - 1 > MAX_POSITION)
    throw argError(op, 'positionOffset', `an offset with positionOffset + T - 1 < 2^31 (T ${T})`, describe(positionOffset));

  const { shape, dtype, device } = tx;
  const out = Tensor.empty(shape, { dtype, device });
  nat().rope(out.handle, tx.handle, base, positionOffset);
  return record(op, out, [tx], (g) => {
    const dx = Tensor.empty(shape, { dtype, device });
    const gx = g.dtype === dtype ? g : g.cast(dtype);
    nat().ropeBackward(dx.handle, gx.handle, base, positionOffset);
    if (gx !== g) gx.dispose();
    return [dx];
  });
}
