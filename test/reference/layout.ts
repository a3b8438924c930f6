/** Float64 reference for permute: output dim i is input dim perm[i]; plain index arithmetic. */

/** The shape of x permuted by perm. */
export function permutedShape(shape: readonly number[], perm: readonly number[]): number[] {
  return perm.map((d) => shape[d]);
}

/** x (row-major, of `shape`) with its dims reordered by perm. */
export function permuteRef(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const rank = shape.length;
  const outShape = permutedShape(shape, perm);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  const n = s;
  const out = new Float64Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let rem = o;
    for (let i = rank - 1; i >= 0; i--) {
      idx[i] = rem % outShape[i];
      rem = Math.floor(rem / outShape[i]);
    }
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i] * inStrides[perm[i]];
    out[o] = x[src];
  }
  return out;
}

/** The permutation that undoes perm. */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((d, i) => (inv[d] = i));
  return inv;
}

/** Every permutation of 0..n-1. */
export function allPerms(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of allPerms(n - 1)) for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}
