/**
 * Multinomial Naive Bayes over bags of words: the classic text-classification baseline (scikit-learn's
 * CountVectorizer + MultinomialNB), kept here as the peer that a trained classifier is benchmarked
 * against.
 *
 * Model: P(c | d) ∝ P(c) · Π_w P(w | c)^count(w, d), in log space. P(c) is the share of training
 * documents in class c. P(w | c) = (N_cw + alpha) / (N_c + alpha · V), with N_cw the count of word w in
 * class c's documents, N_c = Σ_w N_cw and V the training vocabulary size (Lidstone smoothing; alpha = 1
 * is Laplace). Words not seen in training are ignored at prediction, as CountVectorizer drops them.
 */
import { argError, describe, GlmError } from '../errors';

/** The longest token `wordTokens` keeps; longer runs (base64 blobs, hashes, URLs' innards) are dropped. */
export const MAX_WORD_TOKEN_LENGTH = 30;

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Splits a text into lowercase words: maximal runs of Unicode letters and digits (everything else
 * separates), of 1 to 30 UTF-16 code units; longer runs are dropped, not cut. "Re: FREE $$$ 4U!!" →
 * ["re", "free", "4u"].
 */
export function wordTokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(WORD)) if (m[0].length <= MAX_WORD_TOKEN_LENGTH) out.push(m[0]);
  return out;
}

/** Options of `MultinomialNaiveBayes`. */
export interface MultinomialNaiveBayesOptions {
  /** The smoothing pseudo-count added to every (class, word) count, > 0. Default 1 (Laplace). */
  readonly alpha?: number;
  /** Text to tokens. Default `wordTokens`. */
  readonly tokenize?: (text: string) => string[];
}

/** Multinomial Naive Bayes text classifier; see the file header for the model. */
export class MultinomialNaiveBayes {
  /** The smoothing pseudo-count. */
  readonly alpha: number;
  private readonly tokenize: (text: string) => string[];
  private vocab = new Map<string, number>();
  private classes = 0;
  private logPrior = new Float64Array(0); // (C)
  private logLikelihood = new Float64Array(0); // (C, V): log P(w | c) at [c * V + w]

  /** A model with smoothing `alpha` (default 1); call `fit` before predicting. */
  constructor(options: MultinomialNaiveBayesOptions = {}) {
    const alpha = options.alpha ?? 1;
    if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha))
      throw argError('MultinomialNaiveBayes', 'options.alpha', 'a finite number > 0', describe(options.alpha));
    if (options.tokenize !== undefined && typeof options.tokenize !== 'function')
      throw argError('MultinomialNaiveBayes', 'options.tokenize', 'a function (text) => string[]', describe(options.tokenize));
    this.alpha = alpha;
    this.tokenize = options.tokenize ?? wordTokens;
  }

  /** Classes of the fitted model (0 before `fit`). */
  get numClasses(): number {
    return this.classes;
  }

  /** Distinct words seen in training (V). */
  get vocabularySize(): number {
    return this.vocab.size;
  }

  /**
   * Learns priors and word likelihoods from `texts` and their class ids `labels` (integers in
   * [0, numClasses)), replacing any previous fit. Every class needs at least one text. Returns this.
   */
  fit(texts: readonly string[], labels: readonly number[], numClasses: number): this {
    const op = 'MultinomialNaiveBayes.fit';
    if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== 'string'))
      throw argError(op, 'texts', 'a non-empty array of strings', describe(texts));
    if (!Array.isArray(labels) || labels.length !== texts.length)
      throw argError(op, 'labels', `an array of ${texts.length} class ids (one per text)`, describe(labels));
    if (!Number.isInteger(numClasses) || numClasses < 2) throw argError(op, 'numClasses', 'an integer >= 2', describe(numClasses));
    const docs = new Array<number>(numClasses).fill(0);
    labels.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw argError(op, `labels[${i}]`, `an integer class id in [0, ${numClasses})`, describe(c));
      docs[c]++;
    });
    const empty = docs.findIndex((n) => n === 0);
    if (empty >= 0) throw argError(op, 'labels', `at least one text of every class in [0, ${numClasses})`, `no text of class ${empty}`);

    // Pass 1: the vocabulary, and each text as word ids.
    const vocab = new Map<string, number>();
    const ids = texts.map((t) => {
      const tokens = this.tokenize(t);
      const out = new Int32Array(tokens.length);
      for (let j = 0; j < tokens.length; j++) {
        let w = vocab.get(tokens[j]);
        if (w === undefined) vocab.set(tokens[j], (w = vocab.size));
        out[j] = w;
      }
      return out;
    });
    // Pass 2: counts N_cw, then log P(w | c).
    const V = vocab.size;
    const counts = new Float64Array(numClasses * V);
    ids.forEach((doc, i) => {
      const row = labels[i] * V;
      for (let j = 0; j < doc.length; j++) counts[row + doc[j]]++;
    });
    for (let c = 0; c < numClasses; c++) {
      let total = 0;
      for (let w = 0; w < V; w++) total += counts[c * V + w];
      const logDenominator = Math.log(total + this.alpha * V);
      for (let w = 0; w < V; w++) counts[c * V + w] = Math.log(counts[c * V + w] + this.alpha) - logDenominator;
    }
    this.vocab = vocab;
    this.classes = numClasses;
    this.logPrior = Float64Array.from(docs, (n) => Math.log(n / texts.length));
    this.logLikelihood = counts;
    return this;
  }

  /** Per text, the unnormalised log P(c) + Σ_w count(w, d) log P(w | c) of each class. (N, C) */
  jointLogLikelihood(texts: readonly string[]): number[][] {
    this.checkFitted('jointLogLikelihood', texts);
    const C = this.classes;
    const V = this.vocab.size;
    return texts.map((t) => {
      const scores = Array.from(this.logPrior);
      for (const token of this.tokenize(t)) {
        const w = this.vocab.get(token);
        if (w === undefined) continue;
        for (let c = 0; c < C; c++) scores[c] += this.logLikelihood[c * V + w];
      }
      return scores;
    });
  }

  /** Per text, log P(c | d) of each class (each row's exp sums to 1). (N, C) */
  predictLogProba(texts: readonly string[]): number[][] {
    return this.jointLogLikelihood(texts).map((scores) => {
      const max = Math.max(...scores);
      const logZ = max + Math.log(scores.reduce((s, x) => s + Math.exp(x - max), 0));
      return scores.map((x) => x - logZ);
    });
  }

  /** Per text, the most probable class id (the lowest id on a tie). (N) */
  predict(texts: readonly string[]): number[] {
    return this.jointLogLikelihood(texts).map((scores) => {
      let best = 0;
      for (let c = 1; c < scores.length; c++) if (scores[c] > scores[best]) best = c;
      return best;
    });
  }

  private checkFitted(method: string, texts: readonly string[]): void {
    const op = `MultinomialNaiveBayes.${method}`;
    if (this.classes === 0) throw new GlmError(op, 'the model is not fitted; call fit(texts, labels, numClasses) first');
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw argError(op, 'texts', 'an array of strings', describe(texts));
  }
}
