/**
 * Central differences of a float64 reference loss, element by element, beside the gradients a model
 * computed: the gradient checks of the model tests share this loop.
 */
import type { Rng } from './random';

/** What {@link centralDifferences} compares. */
export interface GradCheck {
  /** The reference's parameters in float64, perturbed in place (and restored) by the check. */
  params: Record<string, Float64Array>;
  /** The model's gradients by parameter name. */
  grads: ReadonlyMap<string, ArrayLike<number>>;
  names: readonly string[];
  /** The reference loss at the current `params`. */
  lossAt: () => number;
  r: Rng;
  /** Elements of `name` worth checking (e.g. the token rows that occur); default: any. */
  candidates?: (name: string, length: number) => number[] | null;
  /** Elements per parameter (default 4). */
  perParameter?: number;
}

/** Returns the model's gradient and the central difference at a few random elements of each named parameter. */
export function centralDifferences(c: GradCheck): { got: number[]; want: number[] } {
  const h = 1e-5;  // float64 central differences: truncation ~h², rounding ~1e-16/h, both far below f32 noise
  const got: number[] = [], want: number[] = [];
  for (const name of c.names) {
    const p = c.params[name];
    const rows = c.candidates?.(name, p.length) ?? null;
    for (let k = 0; k < (c.perParameter ?? 4); k++) {
      const i = rows ? rows[c.r.int(0, rows.length)] : c.r.int(0, p.length);
      const v = p[i];
      p[i] = v + h;
      const up = c.lossAt();
      p[i] = v - h;
      const down = c.lossAt();
      p[i] = v;
      want.push((up - down) / (2 * h));
      got.push(c.grads.get(name)![i]);
    }
  }
  return { got, want };
}

/** The indices of a [rows, C] table whose row occurs in `ids` (other rows have zero gradient). */
export function usedRows(ids: ArrayLike<number>, C: number): (name: string, length: number) => number[] | null {
  const used = new Set(Array.from(ids));
  return (name, length) => (name === 'wte.weight' ? Array.from({ length }, (_, i) => i).filter((i) => used.has(Math.floor(i / C))) : null);
}
