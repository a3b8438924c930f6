/**
 * Classification metrics from gold and predicted class ids: accuracy, per-class precision, recall,
 * F1 and support, macro-F1 and the confusion matrix, plus a plain-text rendering of them.
 *
 * Conventions: class k is `labels[k]`; the confusion matrix is indexed [gold][pred]; a ratio whose
 * denominator is 0 is defined as 0 (precision of a class never predicted, recall of a class with no
 * gold example, F1 when both are 0), as scikit-learn's zero_division=0 does. Macro-F1 is the
 * unweighted mean over all `labels`, including classes absent from both gold and pred.
 */
import { argError, describe } from '../errors';

/** The scores of one class. */
export interface ClassScores {
  readonly label: string;
  /** tp / (tp + fp); 0 when the class is never predicted. */
  readonly precision: number;
  /** tp / (tp + fn); 0 when the class has no gold example. */
  readonly recall: number;
  /** 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall; 0 when tp = 0. */
  readonly f1: number;
  /** Gold examples of the class. */
  readonly support: number;
}

/** The result of `classificationReport`. */
export interface ClassificationReport {
  /** Correct predictions / examples. */
  readonly accuracy: number;
  /** One entry per label, in `labels` order. */
  readonly perClass: readonly ClassScores[];
  /** Mean of the per-class F1 over all labels. */
  readonly macroF1: number;
  /** confusion[g][p] = examples of gold class g predicted as p. */
  readonly confusion: number[][];
  /** The class names, as given. */
  readonly labels: readonly string[];
}

const OP = 'classificationReport';

/**
 * Scores predictions `pred` against `gold` (class ids in [0, labels.length), same length, at least
 * one). Throws a GlmError naming the argument for different lengths, an empty input, a class id that
 * is not an integer in range, or labels that are not distinct strings.
 */
export function classificationReport(gold: readonly number[], pred: readonly number[], labels: readonly string[]): ClassificationReport {
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string'))
    throw argError(OP, 'labels', 'a non-empty array of class names', describe(labels));
  if (new Set(labels).size !== labels.length) throw argError(OP, 'labels', 'distinct class names', labels.join(', '));
  if (!Array.isArray(gold) || gold.length === 0) throw argError(OP, 'gold', 'a non-empty array of class ids', describe(gold));
  if (!Array.isArray(pred) || pred.length !== gold.length)
    throw argError(OP, 'pred', `an array of ${gold.length} class ids (as many as gold)`, describe(pred));
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i];
    const p = pred[i];
    if (!Number.isInteger(g) || g < 0 || g >= k) throw argError(OP, `gold[${i}]`, `an integer class id in [0, ${k})`, describe(g));
    if (!Number.isInteger(p) || p < 0 || p >= k) throw argError(OP, `pred[${i}]`, `an integer class id in [0, ${k})`, describe(p));
    confusion[g][p]++;
  }
  let correct = 0;
  const perClass: ClassScores[] = labels.map((label, c) => {
    const tp = confusion[c][c];
    let support = 0; // row sum: gold c
    let predicted = 0; // column sum: predicted c
    for (let j = 0; j < k; j++) {
      support += confusion[c][j];
      predicted += confusion[j][c];
    }
    correct += tp;
    const fp = predicted - tp;
    const fn = support - tp;
    return { label, precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn), f1: ratio(2 * tp, 2 * tp + fp + fn), support };
  });
  const macroF1 = perClass.reduce((s, c) => s + c.f1, 0) / k;
  return { accuracy: correct / gold.length, perClass, macroF1, confusion, labels: [...labels] };
}

/**
 * The report as a fixed-width table: accuracy and macro-F1, per-class precision / recall / F1 /
 * support, then the confusion matrix with gold classes as rows and predictions as columns.
 */
export function formatReport(report: ClassificationReport): string {
  const { labels, perClass, confusion } = report;
  const total = perClass.reduce((s, c) => s + c.support, 0);
  const correct = perClass.reduce((s, _c, i) => s + confusion[i][i], 0);
  const w = Math.max(5, ...labels.map((l) => l.length));
  const num = (x: number) => x.toFixed(4).padStart(9);
  const lines = [
    `accuracy ${report.accuracy.toFixed(4)} (${correct}/${total})   macro F1 ${report.macroF1.toFixed(4)}`,
    '',
    `${'class'.padEnd(w)} ${'precision'.padStart(9)} ${'recall'.padStart(9)} ${'f1'.padStart(9)} ${'support'.padStart(9)}`,
    ...perClass.map((c) => `${c.label.padEnd(w)} ${num(c.precision)} ${num(c.recall)} ${num(c.f1)} ${String(c.support).padStart(9)}`),
    '',
    'confusion matrix (rows: gold, columns: predicted)',
  ];
  const cw = Math.max(...labels.map((l) => l.length), ...confusion.flat().map((n) => String(n).length));
  const head = 'gold \\ pred';
  const rw = Math.max(w, head.length);
  lines.push(`${head.padEnd(rw)} ${labels.map((l) => l.padStart(cw)).join(' ')}`);
  labels.forEach((l, g) => lines.push(`${l.padEnd(rw)} ${confusion[g].map((n) => String(n).padStart(cw)).join(' ')}`));
  return lines.join('\n');
}

/** a / b, with 0 / 0 defined as 0. */
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}
