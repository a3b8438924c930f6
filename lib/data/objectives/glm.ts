/**
 * GLM's autoregressive blank infilling (Du et al. 2022, "GLM: General Language Model Pretraining with
 * Autoregressive Blank Infilling", section 2): spans of the input x (N tokens) are blanked out of Part A
 * and generated, in a random order, in Part B.
 *
 *   Part A = x with each span replaced by one [MASK]                     P = N - T + k tokens
 *   Part B = the spans in a shuffled order, each as [START] span...      T + k tokens
 *
 * where k spans cover T = max(1, round(rate·N)) tokens. Span lengths are Poisson(λ) draws (zeros
 * redrawn), drawn until they sum to T, the last one cut so the sum is exactly T. Targets: -100 on Part A;
 * in Part B each token predicts the next token of its span, and the last span token predicts [END].
 * 2D positions: pos1 is the index in Part A (for a B token: the index of its span's [MASK]); pos2 is 0 on
 * Part A and 1, 2, ..., len + 1 within a span of B ([START] = 1).
 *
 * Attention: every query sees Part A (keys < P) and, causally, itself and what precedes it in Part B —
 * the attention op's { prefix: P } mask (see `glmAttendable`). Because that op takes one P for the
 * whole batch, `buildGlmBatch` draws ONE multiset of span lengths per batch and places those spans at
 * per-example random positions, so every row has the same P and L = N + 2k.
 *
 * Spans may touch (two [MASK]s side by side): placement is uniform over all non-overlapping
 * arrangements, and forbidding gaps of zero would fail for short sequences.
 */
import { argError, describe } from '../../errors';
import { Random } from '../../random';
import { IGNORE_INDEX } from './mlm';

/** Options of the GLM objective. */
export interface GlmOptions {
  /** Replaces each span in Part A. */
  readonly maskId: number;
  /** Opens each span in Part B. */
  readonly startId: number;
  /** The target after a span's last token. */
  readonly endId: number;
  /** Share of the tokens blanked, in (0, 1); default 0.15. */
  readonly rate?: number;
  /** Mean of the Poisson span lengths, in [0.01, 100]; default 3. */
  readonly poissonLambda?: number;
}

/** A batch of GLM examples, row-major: row b is [b*length, (b+1)*length). */
export interface GlmBatch {
  /** (B, L) Part A then Part B. */
  readonly tokens: Int32Array;
  /** (B, L) position ids: index in Part A; for B tokens, the index of their span's [MASK]. */
  readonly pos1: Int32Array;
  /** (B, L) block positions: 0 on Part A, 1..len+1 within each span of Part B. */
  readonly pos2: Int32Array;
  /** (B, L) next span token, or endId after a span's last token, on Part B; -100 on Part A. */
  readonly targets: Int32Array;
  readonly batchSize: number;
  /** L = N + 2k. */
  readonly length: number;
  /** P = |Part A| = N - T + k, the same for every row. */
  readonly prefixLength: number;
  /** The k span lengths as drawn (the last one cut), shared by every row; they sum to T. */
  readonly spanLengths: number[];
}

/** What the model reads to generate the next token of a blank: Part A, then Part B so far. */
export interface InfillInput {
  readonly tokens: Int32Array;
  readonly pos1: Int32Array;
  readonly pos2: Int32Array;
  /** |Part A|: the attention's { prefix } for this input. */
  readonly prefixLength: number;
}

/** A blank (the index of its [MASK] in Part A) and tokens generated for it, without [START] or [END]. */
export interface InfillSpan {
  readonly blank: number;
  readonly tokens: readonly number[];
}

const MAX_ID = 2 ** 31;

/**
 * Whether `query` may attend to `key` in a GLM example of `length` tokens whose Part A has
 * `prefixLength` tokens: key < prefixLength (all of Part A, for every query), or key <= query (causal).
 * So Part A sees all of Part A and none of Part B; a Part B token sees Part A, the spans before its own
 * and its own span up to itself.
 */
export function glmAttendable(prefixLength: number, length: number, query: number, key: number): boolean {
  const op = 'glmAttendable';
  if (!Number.isSafeInteger(length) || length < 1) throw argError(op, 'length', 'a positive integer', describe(length));
  if (!Number.isSafeInteger(prefixLength) || prefixLength < 0 || prefixLength > length)
    throw argError(op, 'prefixLength', `an integer in [0, ${length}] (length)`, describe(prefixLength));
  if (!Number.isSafeInteger(query) || query < 0 || query >= length) throw argError(op, 'query', `an integer in [0, ${length})`, describe(query));
  if (!Number.isSafeInteger(key) || key < 0 || key >= length) throw argError(op, 'key', `an integer in [0, ${length})`, describe(key));
  return key < prefixLength || key <= query;
}

/**
 * The span lengths of one batch over sequences of n tokens: Poisson(poissonLambda) draws (Knuth's
 * method, zeros redrawn) until they sum to T = max(1, round(rate·n)), the last one cut to make the sum
 * exactly T. Throws a GlmError naming the argument for invalid input.
 */
export function sampleSpanLengths(n: number, random: Random, opts: GlmOptions): number[] {
  const op = 'sampleSpanLengths';
  const { rate, lambda } = checkOptions(op, opts);
  if (!Number.isSafeInteger(n) || n < 1) throw argError(op, 'n', 'a positive integer (the sequence length)', describe(n));
  if (!(random instanceof Random)) throw argError(op, 'random', 'a Random', describe(random));
  return spanLengths(n, rate, lambda, random);
}

/**
 * GLM examples of `sequences` (all of one length N), sharing one draw of span lengths so that every row
 * has the same prefixLength P and length L (see the file comment). Per row, the spans are placed
 * uniformly at random and their Part B order is shuffled. Throws a GlmError naming the argument for
 * invalid input, including a sequence holding maskId or startId. endId may occur: it is also the
 * end-of-text token that separates documents in a token stream, so a window across two documents
 * holds it (blanked inside a span, it is a target like any other token).
 */
export function buildGlmBatch(sequences: readonly Int32Array[], random: Random, opts: GlmOptions): GlmBatch {
  const op = 'buildGlmBatch';
  const { rate, lambda } = checkOptions(op, opts);
  if (!Array.isArray(sequences) || sequences.length === 0) throw argError(op, 'sequences', 'a non-empty array of Int32Array', describe(sequences));
  if (!(random instanceof Random)) throw argError(op, 'random', 'a Random', describe(random));
  const N = sequences[0] instanceof Int32Array ? sequences[0].length : 0;
  sequences.forEach((x, i) => {
    if (!(x instanceof Int32Array) || x.length === 0 || x.length !== N)
      throw argError(op, `sequences[${i}]`, `an Int32Array of ${N > 0 ? N : 'one or more'} token ids (every sequence of the batch has one length)`, describe(x));
    for (let t = 0; t < x.length; t++) {
      const id = x[t];
      if (id < 0 || id === opts.maskId || id === opts.startId)
        throw argError(op, `sequences[${i}][${t}]`, 'a non-negative token id other than maskId and startId', describe(id));
    }
  });

  const lengths = spanLengths(N, rate, lambda, random);
  const k = lengths.length;
  const T = lengths.reduce((s, l) => s + l, 0);
  const P = N - T + k;
  const L = N + 2 * k;
  const B = sequences.length;
  const out = {
    tokens: new Int32Array(B * L),
    pos1: new Int32Array(B * L),
    pos2: new Int32Array(B * L),
    targets: new Int32Array(B * L),
  };
  for (let b = 0; b < B; b++) writeExample(sequences[b], lengths, T, random, opts, out, b * L);
  return { ...out, batchSize: B, length: L, prefixLength: P, spanLengths: lengths };
}

/** The positions of maskId in Part A: the blanks to fill, left to right. */
export function infillPrompt(partA: Int32Array, maskId: number): { blanks: number[] } {
  const op = 'infillPrompt';
  if (!(partA instanceof Int32Array)) throw argError(op, 'partA', 'an Int32Array of token ids', describe(partA));
  if (!Number.isInteger(maskId) || maskId < 0 || maskId >= MAX_ID) throw argError(op, 'maskId', 'a token id (an integer in [0, 2^31))', describe(maskId));
  const blanks: number[] = [];
  for (let i = 0; i < partA.length; i++) if (partA[i] === maskId) blanks.push(i);
  return { blanks };
}

/**
 * The model input for generating the next token of blank `current.blank`: Part A, then each blank of
 * `filled` in order as [startId, tokens...], then [startId, current.tokens...]; pos1 and pos2 as in
 * training. Read the logits at the last position; the blank is complete when they pick endId.
 *
 * Filled spans go in WITHOUT their end token, exactly as earlier spans appear in a training Part B
 * (there [END] is only ever a target). Throws a GlmError naming the argument for invalid input,
 * including a blank outside Part A or one filled twice.
 */
export function infillStep(partA: Int32Array, filled: readonly InfillSpan[], current: InfillSpan, startId: number): InfillInput {
  const op = 'infillStep';
  if (!(partA instanceof Int32Array) || partA.length === 0) throw argError(op, 'partA', 'a non-empty Int32Array of token ids', describe(partA));
  if (!Array.isArray(filled)) throw argError(op, 'filled', 'an array of {blank, tokens}', describe(filled));
  if (!Number.isInteger(startId) || startId < 0 || startId >= MAX_ID) throw argError(op, 'startId', 'a token id (an integer in [0, 2^31))', describe(startId));
  const spans = [...filled, current];
  const seen = new Set<number>();
  spans.forEach((s, i) => {
    const name = i < filled.length ? `filled[${i}]` : 'current';
    if (s === null || typeof s !== 'object') throw argError(op, name, 'an object {blank, tokens}', describe(s));
    if (!Number.isInteger(s.blank) || s.blank < 0 || s.blank >= partA.length)
      throw argError(op, `${name}.blank`, `a position in Part A, an integer in [0, ${partA.length})`, describe(s.blank));
    if (seen.has(s.blank)) throw argError(op, `${name}.blank`, 'a blank not already in filled', describe(s.blank));
    seen.add(s.blank);
    if (!Array.isArray(s.tokens)) throw argError(op, `${name}.tokens`, 'an array of token ids', describe(s.tokens));
    for (let j = 0; j < s.tokens.length; j++) {
      const t = s.tokens[j];
      if (!Number.isInteger(t) || t < 0 || t >= MAX_ID) throw argError(op, `${name}.tokens[${j}]`, 'a token id (an integer in [0, 2^31))', describe(t));
    }
  });

  const P = partA.length;
  const L = spans.reduce((n, s) => n + 1 + s.tokens.length, P);
  const tokens = new Int32Array(L);
  const pos1 = new Int32Array(L);
  const pos2 = new Int32Array(L);
  tokens.set(partA);
  for (let i = 0; i < P; i++) pos1[i] = i;
  let p = P;
  for (const s of spans) {
    for (let j = 0; j <= s.tokens.length; j++, p++) {
      tokens[p] = j === 0 ? startId : s.tokens[j - 1];
      pos1[p] = s.blank;
      pos2[p] = j + 1;
    }
  }
  return { tokens, pos1, pos2, prefixLength: P };
}

/** One Poisson(λ) draw by Knuth's method: multiply uniforms until the product falls to e^-λ or below. */
function poisson(lambda: number, random: Random): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random.uniform();
  while (p > limit) {
    k++;
    p *= random.uniform();
  }
  return k;
}

function spanLengths(n: number, rate: number, lambda: number, random: Random): number[] {
  const total = Math.max(1, Math.round(rate * n)); // <= n since rate < 1
  const lengths: number[] = [];
  let sum = 0;
  while (sum < total) {
    const l = poisson(lambda, random);
    if (l === 0) continue;
    const cut = Math.min(l, total - sum);
    lengths.push(cut);
    sum += cut;
  }
  return lengths;
}

/**
 * Writes one example of x (N tokens) with spans of `lengths` (summing to T) into out at offset `at`.
 * Placement: a random order of the lengths along the sequence, and the N - T unmasked tokens split into
 * k + 1 gaps by stars and bars (which k of the N - T + k items are spans: a uniform k-subset, Floyd's
 * algorithm), so every arrangement is equally likely. Then a random Part B order.
 */
function writeExample(
  x: Int32Array,
  lengths: readonly number[],
  T: number,
  random: Random,
  opts: GlmOptions,
  out: { tokens: Int32Array; pos1: Int32Array; pos2: Int32Array; targets: Int32Array },
  at: number,
): void {
  const N = x.length;
  const k = lengths.length;
  const items = N - T + k;
  const ordered = random.shuffle(lengths.slice()); // span lengths left to right
  const isSpan = new Uint8Array(items);
  for (let j = items - k; j < items; j++) {
    const t = random.int(j + 1);
    isSpan[isSpan[t] ? j : t] = 1;
  }

  // Part A, left to right; starts[i] and maskAt[i] for the i-th span from the left.
  const { tokens, pos1, pos2, targets } = out;
  const starts = new Int32Array(k);
  const maskAt = new Int32Array(k);
  let src = 0;
  let span = 0;
  for (let item = 0; item < items; item++) {
    const p = at + item; // item index = index in Part A
    pos1[p] = item;
    pos2[p] = 0;
    targets[p] = IGNORE_INDEX;
    if (isSpan[item]) {
      tokens[p] = opts.maskId;
      starts[span] = src;
      maskAt[span] = item;
      src += ordered[span++];
    } else {
      tokens[p] = x[src++];
    }
  }

  // Part B in a random order of the spans.
  const order = random.shuffle(Int32Array.from({ length: k }, (_, i) => i));
  let p = at + items;
  for (const i of order) {
    const s = starts[i];
    const len = ordered[i];
    for (let j = 0; j <= len; j++, p++) {
      tokens[p] = j === 0 ? opts.startId : x[s + j - 1];
      pos1[p] = maskAt[i];
      pos2[p] = j + 1;
      targets[p] = j < len ? x[s + j] : opts.endId;
    }
  }
}

function checkOptions(op: string, opts: GlmOptions): { rate: number; lambda: number } {
  if (opts === null || typeof opts !== 'object')
    throw argError(op, 'opts', 'an object {maskId, startId, endId, rate?, poissonLambda?}', describe(opts));
  for (const name of ['maskId', 'startId', 'endId'] as const) {
    const id = opts[name];
    if (!Number.isInteger(id) || id < 0 || id >= MAX_ID) throw argError(op, `opts.${name}`, 'a token id (an integer in [0, 2^31))', describe(id));
  }
  if (opts.startId === opts.maskId) throw argError(op, 'opts.startId', `an id other than maskId ${opts.maskId}`, describe(opts.startId));
  if (opts.endId === opts.maskId || opts.endId === opts.startId)
    throw argError(op, 'opts.endId', `an id other than maskId ${opts.maskId} and startId ${opts.startId}`, describe(opts.endId));
  const rate = opts.rate ?? 0.15;
  if (typeof rate !== 'number' || !(rate > 0 && rate < 1)) throw argError(op, 'opts.rate', 'a number in (0, 1)', describe(rate));
  const lambda = opts.poissonLambda ?? 3;
  // Knuth's method takes about λ + 1 uniforms per draw, and zeros are redrawn: 1 / (1 - e^-λ) tries per
  // span, about 100 at λ = 0.01. The bounds keep both small.
  if (typeof lambda !== 'number' || !(lambda >= 0.01 && lambda <= 100))
    throw argError(op, 'opts.poissonLambda', 'a number in [0.01, 100]', describe(lambda));
  return { rate, lambda };
}
