/** Numeric assertions against float64 references, and error-message assertions. */
import * as assert from 'uvu/assert';

import { seedNote } from './random';

/**
 * Norm-wise relative error ||actual - expected|| / ||expected|| <= tol, with no NaN or infinity in
 * actual. `what` names the quantity in the failure message. `absFloor` adds an absolute allowance on
 * ||actual - expected|| for quantities whose float32 rounding error does not scale with their size
 * (e.g. p - 1 for a probability close to 1).
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
  absFloor = 0,
): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  let num = 0;
  let den = 0;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    if (!Number.isFinite(a)) assert.unreachable(`${what}: non-finite value ${a} at index ${i} ${seedNote()}`);
    const d = a - expected[i];
    num += d * d;
    den += expected[i] * expected[i];
    if (Math.abs(d) > worst) {
      worst = Math.abs(d);
      worstAt = i;
    }
  }
  const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  if (!(rel <= tol) && !(Math.sqrt(num) <= tol * Math.sqrt(den) + absFloor))
    assert.unreachable(
      `${what}: relative error ${rel.toExponential(3)} > ${tol} (worst |diff| ${worst.toExponential(3)} at ${worstAt}: ` +
        `got ${actual[worstAt]}, expected ${expected[worstAt]}) ${seedNote()}`,
    );
}

/** Asserts fn throws (or rejects) with a message matching every pattern. */
export async function assertThrows(fn: () => unknown, ...patterns: (RegExp | string)[]): Promise<void> {
  let error: unknown = null;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  if (!error) assert.unreachable(`expected an error matching ${patterns.join(', ')}, but nothing was thrown`);
  const message = error instanceof Error ? error.message : String(error);
  for (const p of patterns) {
    const ok = typeof p === 'string' ? message.includes(p) : p.test(message);
    if (!ok) assert.unreachable(`error message "${message}" does not match ${p}`);
  }
}

/** f32: 1e-4 norm-wise; bf16: 2e-2 (8 bits of mantissa, accumulated in f32). */
export function tolFor(dtype: string): number {
  return dtype === 'bf16' ? 2e-2 : 1e-4;
}
