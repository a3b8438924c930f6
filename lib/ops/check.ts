/**
 * Argument validation shared by the ops: one helper per rule, each throwing a GlmError that names
 * the op, the argument, what was expected and what came. The native side re-checks all of it.
 */
import { DType } from '../dtype';
import { argError, describe, GlmError } from '../errors';
import { Tensor } from '../tensor';

/** Throws unless x is a live Tensor. */
export function tensorArg(op: string, name: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw argError(op, name, 'a Tensor', describe(x));
  if (x.disposed) throw argError(op, name, 'a live tensor', `a disposed tensor (${x.dtype}[${x.shape}])`);
  return x;
}

export function dtypeArg(op: string, name: string, t: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) throw argError(op, name, `dtype ${allowed.join(' or ')}`, t.dtype);
}

export function sameDType(op: string, name: string, t: Tensor, refName: string, ref: Tensor): void {
  if (t.dtype !== ref.dtype) throw argError(op, name, `dtype ${ref.dtype} (as '${refName}')`, t.dtype);
}

export function sameDevice(op: string, name: string, t: Tensor, refName: string, ref: Tensor): void {
  if (t.device !== ref.device)
    throw argError(op, name, `a tensor on ${ref.device} (as '${refName}')`, `one on ${t.device}`);
}

export function shapeArg(op: string, name: string, t: Tensor, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))
    throw argError(op, name, `shape [${expected.join(', ')}]`, `[${t.shape.join(', ')}]`);
}

export function rankArg(op: string, name: string, t: Tensor, ranks: readonly number[]): void {
  if (!ranks.includes(t.rank))
    throw argError(op, name, `a ${ranks.join('-D or ')}-D tensor`, `shape [${t.shape.join(', ')}]`);
}

/** A finite number (NaN and ±Infinity are rejected). */
export function finiteArg(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw argError(op, name, 'a finite number', describe(v));
  return v;
}

export function intArg(op: string, name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = min > -Infinity && max < Infinity ? ` in [${min}, ${max}]` : min > -Infinity ? ` >= ${min}` : '';
    throw argError(op, name, `an integer${range}`, describe(v));
  }
  return v;
}

export function boolArg(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw argError(op, name, 'a boolean', describe(v));
  return v;
}

/** Throws unless `shape` is a suffix of `of` (the broadcasting rule of add and mul). */
export function suffixShape(op: string, name: string, t: Tensor, of: Tensor): void {
  const s = t.shape, o = of.shape;
  const ok = s.length <= o.length && s.every((d, i) => d === o[o.length - s.length + i]);
  if (!ok) throw argError(op, name, `shape [${o.join(', ')}] or a suffix of it`, `[${s.join(', ')}]`);
}

export function fail(op: string, message: string): never {
  throw new GlmError(op, message);
}
