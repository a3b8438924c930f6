/** Float64 reference for the fused softmax cross-entropy (loss and d(loss)/d(logits)). */

export interface CrossEntropyRef {
  loss: number;
  /** d(loss)/d(logits) for d(loss) = 1, shaped as the logits (N × V, row-major). */
  dlogits: Float64Array;
  validCount: number;
}

/**
 * logits (N × V), targets (N); rows whose target is ignoreIndex do not count. The loss is the mean
 * over counted rows of logsumexp(row) - row[target] (0 when none counts), or their sum.
 */
export function crossEntropyRef(
  logits: ArrayLike<number>, targets: ArrayLike<number>, V: number, ignoreIndex = -100, reduction: 'mean' | 'sum' = 'mean',
): CrossEntropyRef {
  const N = targets.length;
  let valid = 0;
  for (let r = 0; r < N; r++) if (targets[r] !== ignoreIndex) valid++;
  const scale = reduction === 'mean' ? (valid > 0 ? 1 / valid : 0) : 1;
  const dlogits = new Float64Array(N * V);
  let total = 0;
  for (let r = 0; r < N; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[r * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[r * V + j] - m);
    const lse = m + Math.log(s);
    total += lse - logits[r * V + t];
    for (let j = 0; j < V; j++) dlogits[r * V + j] = (Math.exp(logits[r * V + j] - lse) - (j === t ? 1 : 0)) * scale;
  }
  return { loss: total * scale, dlogits, validCount: valid };
}
