/**
 * Matrix products: `matmul` (batched, optional transposes, fused bias and GELU epilogue) and
 * `linear` (x·weightᵀ + bias with the [out, in] weights of GPT-2 checkpoints). Backward is more
 * matmuls with transposes; when b is shared by every batch item its gradient is one GEMM over a
 * viewed as (batch·M, K), and the bias gradient is a column sum (sumRows).
 */
import { needsGrad, record } from '../autograd';
import { argError } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { boolArg, dtypeArg, fail, sameDevice, sameDType, shapeArg, tensorArg } from './check';
import { sumTo } from './elementwise';

interface MatmulNative {
  matmul(
    out: NativeTensor,
    preact: NativeTensor | null,
    a: NativeTensor,
    b: NativeTensor,
    bias: NativeTensor | null,
    transA: boolean,
    transB: boolean,
    alpha: number,
    beta: number,
    activation: 'none' | 'gelu',
  ): void;
  geluBackward(dx: NativeTensor, dout: NativeTensor, x: NativeTensor): void;
}
const nat = () => native<MatmulNative>();

const FLOAT = ['f32', 'bf16'] as const;

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** a is stored [..., K, M] and used transposed. */
  transA?: boolean;
  /** b is stored [N, K] (or [..., N, K]) and used transposed. */
  transB?: boolean;
  /** [N], added to every row of the product. */
  bias?: Tensor;
  /** Applied to the product (+ bias) in the same pass; the value before it is kept for backward. */
  activation?: 'gelu';
}

/** What the caller calls the operands, so that errors speak the caller's language. */
interface Names {
  a: string;
  b: string;
  bias: string;
}

const dims = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Allocates and computes op(a)·op(b) natively, without recording: the building block of backward.
 * a and b are both batched with equal leading dims, or one of them is a 2-D matrix shared by all.
 */
function product(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const lead = a.rank > 2 ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const M = transA ? a.shape[a.rank - 1] : a.shape[a.rank - 2];
  const N = transB ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
  const out = Tensor.empty([...lead, M, N], { dtype: a.dtype, device: a.device });
  nat().matmul(out.handle, null, a.handle, b.handle, null, transA, transB, 1, 0, 'none');
  return out;
}

/** A 2-D view of t's memory as (numel / cols, cols); the caller disposes it. */
function rows2d(t: Tensor): Tensor {
  const cols = t.shape[t.rank - 1];
  return new Tensor(native().view(t.handle, [cols === 0 ? 0 : t.numel / cols, cols], 0));
}

/** The gradient of a shared 2-D b from a batched product: one GEMM over the flattened batch. */
function sharedWeightGrad(a: Tensor, dOut: Tensor, transA: boolean, transB: boolean, bShape: readonly number[]): Tensor {
  if (!transA) {
    // Rows of every batch item are contiguous: (batch·M, K) and (batch·M, N).
    const a2 = rows2d(a), g2 = rows2d(dOut);
    const grad = transB ? product(g2, a2, true, false) : product(a2, g2, true, false);
    a2.dispose();
    g2.dispose();
    return grad;
  }
  // a stored (batch, K, M) does not flatten that way: per-item products, then a sum over the batch.
  const perItem = transB ? product(dOut, a, true, true) : product(a, dOut, false, false);
  const grad = sumTo(perItem, bShape);
  if (grad !== perItem) perItem.dispose();
  return grad;
}

function matmulImpl(op: string, names: Names, a: unknown, b: unknown, opts: unknown): Tensor {
  const ta = tensorArg(op, names.a, a);
  const tb = tensorArg(op, names.b, b);
  dtypeArg(op, names.a, ta, FLOAT);
  sameDType(op, names.b, tb, names.a, ta);
  sameDevice(op, names.b, tb, names.a, ta);
  if (opts !== undefined && (opts === null || typeof opts !== 'object'))
    throw argError(op, 'options', 'an object', String(opts));
  const o = (opts ?? {}) as MatmulOptions;
  const transA = o.transA === undefined ? false : boolArg(op, 'transA', o.transA);
  const transB = o.transB === undefined ? false : boolArg(op, 'transB', o.transB);
  if (o.activation !== undefined && o.activation !== 'gelu')
    throw argError(op, 'activation', '"gelu" or undefined', JSON.stringify(o.activation));
  const gelu = o.activation === 'gelu';

  if (ta.rank < 2) throw argError(op, names.a, 'a tensor of rank >= 2', `shape ${dims(ta.shape)}`);
  if (tb.rank < 2) throw argError(op, names.b, 'a tensor of rank >= 2', `shape ${dims(tb.shape)}`);
  const lead = ta.shape.slice(0, -2);
  const batchedB = tb.rank > 2;
  if (batchedB && (tb.rank !== ta.rank || lead.some((d, i) => d !== tb.shape[i])))
    throw argError(op, names.b, `a 2-D matrix or batch dims ${dims(lead)} as '${names.a}' ${dims(ta.shape)}`, `shape ${dims(tb.shape)}`);
  const M = transA ? ta.shape[ta.rank - 1] : ta.shape[ta.rank - 2];
  const K = transA ? ta.shape[ta.rank - 2] : ta.shape[ta.rank - 1];
  const Kb = transB ? tb.shape[tb.rank - 1] : tb.shape[tb.rank - 2];
  const N = transB ? tb.shape[tb.rank - 2] : tb.shape[tb.rank - 1];
  if (K !== Kb) {
    const what = (name: string, t: Tensor, tr: boolean) => `'${name}' ${dims(t.shape)}${tr ? ' (transposed)' : ''}`;
    fail(op, `inner dimensions differ: ${what(names.a, ta, transA)} has K = ${K}, ${what(names.b, tb, transB)} has K = ${Kb}`);
  }
  let tbias: Tensor | null = null;
  if (o.bias !== undefined && o.bias !== null) {
    tbias = tensorArg(op, names.bias, o.bias);
    sameDType(op, names.bias, tbias, names.a, ta);
    sameDevice(op, names.bias, tbias, names.a, ta);
    shapeArg(op, names.bias, tbias, [N]);
  }

  const outShape = [...lead, M, N];
  const { dtype, device } = ta;
  const out = Tensor.empty(outShape, { dtype, device });
  const grad = needsGrad(ta, tb, tbias);
  // With GELU, backward needs the value before it; only keep it when someone will ask.
  const preact = gelu && grad ? Tensor.empty(outShape, { dtype, device }) : null;
  nat().matmul(out.handle, preact?.handle ?? null, ta.handle, tb.handle, tbias?.handle ?? null, transA, transB, 1, 0,
    gelu ? 'gelu' : 'none');
  if (!grad) return out;

  return record(op, out, [ta, tb, tbias], (g) => {
    let dOut = g;
    if (preact) {
      dOut = Tensor.empty(outShape, { dtype, device });
      nat().geluBackward(dOut.handle, g.handle, preact.handle);
    }
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    let gbias: Tensor | null = null;
    if (ta.requiresGrad) {
      // dA = dC·op(B)ᵀ; stored transposed: dAᵀ = op(B)·dCᵀ.
      ga = transA ? product(tb, dOut, transB, true) : product(dOut, tb, false, !transB);
    }
    if (tb.requiresGrad) {
      if (!batchedB && lead.length > 0) gb = sharedWeightGrad(ta, dOut, transA, transB, tb.shape);
      // dB = op(A)ᵀ·dC; stored transposed: dBᵀ = dCᵀ·op(A).
      else gb = transB ? product(dOut, ta, true, transA) : product(ta, dOut, !transA, false);
    }
    if (tbias && tbias.requiresGrad) gbias = sumTo(dOut, [N]);
    if (dOut !== g) dOut.dispose();
    return [ga, gb, gbias];
  }, preact ? [preact] : []);
}

/**
 * The matrix product op(a)·op(b) (+ bias) (then GELU), batched over a's leading dims.
 *
 * a is [..., M, K] ([..., K, M] with transA); b is [K, N] ([N, K] with transB), shared by every
 * batch item, or carries a's leading dims; both f32 or both bf16, on one device. Returns
 * [..., M, N]. Differentiable in a, b and bias.
 */
export function matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
  return matmulImpl('matmul', { a: 'a', b: 'b', bias: 'bias' }, a, b, opts);
}

/**
 * A fully connected layer: x·weightᵀ + bias, with weight [out, in] as in PyTorch's nn.Linear and
 * GPT-2 checkpoints. x is [..., in] (a single vector [in] too); returns [..., out].
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const op = 'linear';
  const names = { a: 'x', b: 'weight', bias: 'bias' };
  const opts = { transB: true, bias: bias ?? undefined };
  const tx = tensorArg(op, 'x', x);
  if (tx.rank !== 1) return matmulImpl(op, names, tx, weight, opts);
  const row = tx.reshape([1, tx.shape[0]]);
  const y = matmulImpl(op, names, row, weight, opts);
  // row and y are views sharing x's and the result's memory; backward still reads row.
  return y.reshape([y.shape[1]]);
}
