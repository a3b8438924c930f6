/** Float64 reference for the embedding lookup and its scatter-add backward. */

/** table (V × C) rows gathered by ids: (N × C). */
export function embeddingRef(table: ArrayLike<number>, ids: ArrayLike<number>, C: number): Float64Array {
  const out = new Float64Array(ids.length * C);
  for (let n = 0; n < ids.length; n++) for (let c = 0; c < C; c++) out[n * C + c] = table[ids[n] * C + c];
  return out;
}

/** d(table) (V × C): the rows of dout (N × C) summed per id. */
export function embeddingBackwardRef(dout: ArrayLike<number>, ids: ArrayLike<number>, V: number, C: number): Float64Array {
  const dtable = new Float64Array(V * C);
  for (let n = 0; n < ids.length; n++) for (let c = 0; c < C; c++) dtable[ids[n] * C + c] += dout[n * C + c];
  return dtable;
}
