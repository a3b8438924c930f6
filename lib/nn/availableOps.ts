/**
 * The rope and dropout ops, checked before first use against the loaded native addon: a binary
 * built before those kernels existed has no `rope`/`dropout` functions, and the models should then
 * say clearly what is missing (and how to fix it) instead of failing with "is not a function".
 */
import { GlmError } from '../errors';
import { native } from '../native';
import { dropout } from '../ops/dropout';
import { rope } from '../ops/rope';

/** ops.rope: rotary position embedding of x [B, H, T, D] (rotate_half pairing (i, i + D/2)). */
export type RopeFn = typeof rope;
/** ops.dropout: inverted dropout with a counter-based mask of (seed, offset). */
export type DropoutFn = typeof dropout;

function available(fn: string, what: string): void {
  if (typeof (native() as unknown as Record<string, unknown>)[fn] !== 'function')
    throw new GlmError(fn, `${what} is not available: the loaded native addon has no '${fn}' kernel (rebuild it: npm run build:native)`);
}

let ropeChecked = false;
let dropoutChecked = false;

/** The rope op, or a clear error when the native addon lacks it. */
export function ropeOp(): RopeFn {
  if (!ropeChecked) available('rope', "rotary position embedding (positional: 'rope')");
  ropeChecked = true;
  return rope;
}

/** The dropout op, or a clear error when the native addon lacks it. */
export function dropoutOp(): DropoutFn {
  if (!dropoutChecked) available('dropout', 'residual dropout (training with config.dropout > 0)');
  dropoutChecked = true;
  return dropout;
}
