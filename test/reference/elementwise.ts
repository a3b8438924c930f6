/** Float64 references for the elementwise ops and reductions (suffix broadcasting). */

export function addRef(a: ArrayLike<number>, b: ArrayLike<number>, beta = 1): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + beta * b[i % b.length];
  return out;
}

export function mulRef(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i % b.length];
  return out;
}

/** Sums a (rows × cols, row-major) over rows. */
export function sumRowsRef(a: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < a.length; i++) out[i % cols] += a[i];
  return out;
}

export function sumRef(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
