/**
 * Brute-force reference of GLM's attention mask (Du et al. 2022, figure 2), written from the rules of
 * the objective rather than from positions: it never compares a query's index with a key's, only which
 * part and which span each token belongs to.
 *
 *   - a Part A token sees all of Part A and nothing of Part B;
 *   - a Part B token sees all of Part A, every token of the spans before its own in Part B order, and
 *     the tokens of its own span up to and including itself.
 */

/** Where each token of an example sits. */
export interface GlmLayoutRef {
  /** Per token: -1 for Part A, else the rank of its span in Part B order (0 = generated first). */
  readonly spanRank: ArrayLike<number>;
  /** Per token of Part B: its place in its span ([START] = 0); ignored on Part A. */
  readonly offset: ArrayLike<number>;
}

/** allowed[q * L + k] = 1 when query q may attend to key k. */
export function glmAllowedRef(layout: GlmLayoutRef): Uint8Array {
  const L = layout.spanRank.length;
  const allowed = new Uint8Array(L * L);
  for (let q = 0; q < L; q++) {
    const rq = layout.spanRank[q];
    for (let k = 0; k < L; k++) {
      const rk = layout.spanRank[k];
      let ok: boolean;
      if (rk === -1) ok = true; // everyone sees Part A
      else if (rq === -1) ok = false; // Part A sees nothing of Part B
      else if (rk < rq) ok = true; // an earlier span
      else if (rk === rq) ok = layout.offset[k] <= layout.offset[q]; // its own span, up to itself
      else ok = false; // a later span
      allowed[q * L + k] = ok ? 1 : 0;
    }
  }
  return allowed;
}

/**
 * The layout of one row of a GLM batch, read from its block positions alone: pos2 = 0 on Part A, and
 * each span of Part B starts at pos2 = 1.
 */
export function glmLayoutFromPos2(pos2: ArrayLike<number>): GlmLayoutRef {
  const spanRank = new Int32Array(pos2.length);
  const offset = new Int32Array(pos2.length);
  let rank = -1;
  for (let i = 0; i < pos2.length; i++) {
    if (pos2[i] === 0) {
      spanRank[i] = -1;
      continue;
    }
    if (pos2[i] === 1) rank++;
    spanRank[i] = rank;
    offset[i] = pos2[i] - 1;
  }
  return { spanRank, offset };
}
