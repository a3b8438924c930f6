/**
 * Elementwise ops and reductions: add, sub, mul, scale, sum, mean. Broadcasting is by suffix:
 * b may have the shape of a's trailing dimensions (a bias, a per-channel scale) and is repeated over
 * the leading ones; its gradient sums over them.
 */
import { needsGrad, record } from '../autograd';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, finiteArg, sameDevice, sameDType, suffixShape, tensorArg } from './check';

interface ElementwiseNative {
  add(out: NativeTensor, a: NativeTensor, b: NativeTensor, beta: number): void;
  mul(out: NativeTensor, a: NativeTensor, b: NativeTensor): void;
  scale(out: NativeTensor, a: NativeTensor, s: number): void;
  sumRows(out: NativeTensor, a: NativeTensor, alpha: number, beta: number): void;
  sumAll(out: NativeTensor, a: NativeTensor, s: number): void;
  broadcastScalar(out: NativeTensor, g: NativeTensor, s: number): void;
}
const nat = () => native<ElementwiseNative>();

const FLOAT = ['f32', 'bf16'] as const;

function checkBinary(op: string, a: unknown, b: unknown): [Tensor, Tensor] {
  const ta = tensorArg(op, 'a', a);
  const tb = tensorArg(op, 'b', b);
  dtypeArg(op, 'a', ta, FLOAT);
  sameDType(op, 'b', tb, 'a', ta);
  sameDevice(op, 'b', tb, 'a', ta);
  suffixShape(op, 'b', tb, ta);
  return [ta, tb];
}

/** Sums g over its leading dimensions down to `shape` (a suffix of g's shape), times alpha. */
export function sumTo(g: Tensor, shape: readonly number[], alpha = 1): Tensor {
  if (g.shape.length === shape.length) return alpha === 1 ? g : scale(g, alpha);
  const out = Tensor.empty(shape, { dtype: g.dtype, device: g.device });
  nat().sumRows(out.handle, g.handle, alpha, 0);
  return out;
}

function addScaled(op: string, a: unknown, b: unknown, beta: number): Tensor {
  const [ta, tb] = checkBinary(op, a, b);
  const out = Tensor.empty(ta.shape, { dtype: ta.dtype, device: ta.device });
  nat().add(out.handle, ta.handle, tb.handle, beta);
  const bShape = tb.shape;
  return record(op, out, [ta, tb], (g) => [
    ta.requiresGrad ? g : null,
    tb.requiresGrad ? sumTo(g, bShape, beta) : null,
  ]);
}

/** a + b (b's shape equal to a's or a suffix of it). */
export function add(a: Tensor, b: Tensor): Tensor {
  return addScaled('add', a, b, 1);
}

/** a - b (b's shape equal to a's or a suffix of it). */
export function sub(a: Tensor, b: Tensor): Tensor {
  return addScaled('sub', a, b, -1);
}

/** a * b elementwise (b's shape equal to a's or a suffix of it). */
export function mul(a: Tensor, b: Tensor): Tensor {
  const op = 'mul';
  const [ta, tb] = checkBinary(op, a, b);
  const out = Tensor.empty(ta.shape, { dtype: ta.dtype, device: ta.device });
  nat().mul(out.handle, ta.handle, tb.handle);
  if (!needsGrad(ta, tb)) return out;
  return record(op, out, [ta, tb], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (ta.requiresGrad) {
      ga = Tensor.empty(ta.shape, { dtype: ta.dtype, device: ta.device });
      nat().mul(ga.handle, g.handle, tb.handle);
    }
    if (tb.requiresGrad) {
      const full = Tensor.empty(ta.shape, { dtype: ta.dtype, device: ta.device });
      nat().mul(full.handle, g.handle, ta.handle);
      gb = sumTo(full, tb.shape);
      if (gb !== full) full.dispose();
    }
    return [ga, gb];
  });
}

/** s * a for a number s. */
export function scale(a: Tensor, s: number): Tensor {
  const op = 'scale';
  const ta = tensorArg(op, 'a', a);
  dtypeArg(op, 'a', ta, FLOAT);
  finiteArg(op, 's', s);
  const out = Tensor.empty(ta.shape, { dtype: ta.dtype, device: ta.device });
  nat().scale(out.handle, ta.handle, s);
  return record(op, out, [ta], (g) => [scale(g, s)]);
}

function reduceAll(op: string, a: unknown, meanOf: boolean): Tensor {
  const ta = tensorArg(op, 'a', a);
  dtypeArg(op, 'a', ta, FLOAT);
  const s = meanOf ? 1 / Math.max(1, ta.numel) : 1;
  const out = Tensor.empty([], { dtype: 'f32', device: ta.device });
  nat().sumAll(out.handle, ta.handle, s);
  const { shape, dtype, device } = ta;
  return record(op, out, [ta], (g) => {
    const ga = Tensor.empty(shape, { dtype, device });
    nat().broadcastScalar(ga.handle, g.handle, s);
    return [ga];
  });
}

/** The sum of all elements, as an f32 scalar (accumulated in double). */
export function sum(a: Tensor): Tensor {
  return reduceAll('sum', a, false);
}

/** The mean of all elements, as an f32 scalar. */
export function mean(a: Tensor): Tensor {
  return reduceAll('mean', a, true);
}
