/**
 * Reference for lib/eval/classification.ts, written independently of it: every count is a direct
 * count over the examples (no confusion matrix), and each score is its textbook definition with 0/0
 * taken as 0; F1 is the harmonic mean 2PR / (P + R) rather than the library's 2tp / (2tp + fp + fn).
 */

/** Scores of class c by brute-force counting. */
export function classScoresRef(gold: readonly number[], pred: readonly number[], c: number) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < gold.length; i++) {
    if (gold[i] === c && pred[i] === c) tp++;
    else if (pred[i] === c) fp++;
    else if (gold[i] === c) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support: tp + fn };
}

/** Accuracy, macro-F1 and confusion[g][p] by counting each cell separately. */
export function classificationRef(gold: readonly number[], pred: readonly number[], k: number) {
  const perClass = Array.from({ length: k }, (_, c) => classScoresRef(gold, pred, c));
  const confusion = Array.from({ length: k }, (_, g) =>
    Array.from({ length: k }, (_, p) => gold.filter((x, i) => x === g && pred[i] === p).length),
  );
  return {
    accuracy: gold.filter((x, i) => x === pred[i]).length / gold.length,
    perClass,
    macroF1: perClass.reduce((s, c) => s + c.f1, 0) / k,
    confusion,
  };
}
