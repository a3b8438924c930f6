/**
 * BERT's next-sentence-prediction pairs (Devlin et al. 2019, appendix A.2), laid out for an encoder as
 * [CLS] A [SEP] B [SEP] [PAD]... A document is an array of segments (sentences or lines, each an
 * Int32Array of token ids); segmentation and tokenization happen before this file.
 *
 * One example: with probability 1/2 it is a true pair (isNext = 1). A document is drawn uniformly, a
 * run of consecutive segments is taken from a random start until it holds maxLength - 3 tokens (or the
 * document ends), and the run is cut at a random segment boundary into A and B. Otherwise (isNext = 0)
 * A is the first 1..all segments of such a run (a uniform count), and B is a run of segments from a
 * random start of a uniformly drawn DIFFERENT document, taken until A and B hold maxLength - 3 tokens. The pair is then truncated longest first (BERT's truncate_seq_pair) to
 * 3 + |A| + |B| <= maxLength, both kept non-empty.
 *
 * Decisions, where BERT's script differs or leaves a choice:
 * - Truncation trims A from its front and B from its back (BERT picks a side at random), so the A|B
 *   junction of a true pair survives: the last token of A is followed by the first token of B in the
 *   document, which is what the classifier is asked to recognise.
 * - A true pair from a document of ONE segment splits that segment at a uniform point (both halves
 *   non-empty). A document of one single-token segment cannot give a true pair: true pairs are drawn
 *   from the other documents, and a corpus where no document can give one is an error.
 * - No short-sequence sampling (BERT's short_seq_prob) and no reuse of the unused segments: each
 *   example is an independent draw, so a batch is a function of the generator's state alone.
 */
import { argError, describe } from '../../errors';
import { Random } from '../../random';

/** Documents: docs[d][s] is segment s of document d, a run of token ids. */
export type NspDocuments = readonly (readonly Int32Array[])[];

/** Options of `buildNspExample` and `buildNspBatch`. */
export interface NspOptions {
  /** Tokens per example, specials and padding included; at least 5 ([CLS] a [SEP] b [SEP]). */
  readonly maxLength: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
}

/** One NSP example. */
export interface NspExample {
  /** [CLS] A [SEP] B [SEP] then padId up to maxLength. */
  readonly ids: Int32Array;
  /** Token type: 0 for [CLS] A [SEP], 1 for B [SEP], 0 on padding. */
  readonly segments: Int32Array;
  /** Real tokens before the padding: 3 + |A| + |B|. */
  readonly length: number;
  /** 1 when B is the text that follows A in its document, 0 when B comes from another document. */
  readonly isNext: 0 | 1;
}

/** A batch of NSP examples, row-major: row b is [b*maxLength, (b+1)*maxLength). */
export interface NspBatch {
  /** (B, maxLength) */
  readonly ids: Int32Array;
  /** (B, maxLength) */
  readonly segments: Int32Array;
  /** (B,) real tokens of each row. */
  readonly lengths: Int32Array;
  /** (B,) 1 for a true next pair, 0 for a random one. */
  readonly isNext: Int32Array;
  readonly batchSize: number;
  readonly maxLength: number;
}

/** Which documents can give a true pair: two or more segments, or one segment of two or more tokens. */
type Eligible = number[];

/**
 * Builds one NSP example from `docs` (see the file comment), drawing from `random`. Throws a GlmError
 * naming the argument for invalid options or documents (fewer than 2, an empty document or segment).
 */
export function buildNspExample(docs: NspDocuments, random: Random, opts: NspOptions): NspExample {
  const op = 'buildNspExample';
  const eligible = checkDocuments(op, docs);
  checkOptions(op, opts);
  checkRandom(op, random);
  const ids = new Int32Array(opts.maxLength);
  const segments = new Int32Array(opts.maxLength);
  const [length, isNext] = writeExample(docs, eligible, random, opts, ids, segments, 0);
  return { ids, segments, length, isNext };
}

/**
 * `batchSize` independent NSP examples in flat (B, maxLength) arrays, drawn in row order from
 * `random`. Throws a GlmError naming the argument for invalid input.
 */
export function buildNspBatch(docs: NspDocuments, batchSize: number, random: Random, opts: NspOptions): NspBatch {
  const op = 'buildNspBatch';
  const eligible = checkDocuments(op, docs);
  checkOptions(op, opts);
  checkRandom(op, random);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw argError(op, 'batchSize', 'a positive integer', describe(batchSize));
  const T = opts.maxLength;
  const ids = new Int32Array(batchSize * T);
  const segments = new Int32Array(batchSize * T);
  const lengths = new Int32Array(batchSize);
  const isNext = new Int32Array(batchSize);
  for (let b = 0; b < batchSize; b++) [lengths[b], isNext[b]] = writeExample(docs, eligible, random, opts, ids, segments, b * T);
  return { ids, segments, lengths, isNext, batchSize, maxLength: T };
}

/** A run of tokens: `pieces` (consecutive segments, or parts of one) concatenated; `size` tokens in all. */
interface Run {
  pieces: Int32Array[];
  size: number;
}

/** Draws one example into ids/segments at `at`; returns [length, isNext]. */
function writeExample(docs: NspDocuments, eligible: Eligible, random: Random, opts: NspOptions, ids: Int32Array, segments: Int32Array, at: number): [number, 0 | 1] {
  const target = opts.maxLength - 3;
  const isNext: 0 | 1 = random.uniform() < 0.5 ? 1 : 0;
  let a: Run;
  let b: Run;
  if (isNext) {
    const doc = docs[eligible[random.int(eligible.length)]];
    if (doc.length === 1) {
      const seg = doc[0];
      const cut = 1 + random.int(seg.length - 1);
      a = run([seg.subarray(0, cut)]);
      b = run([seg.subarray(cut)]);
    } else {
      const s = random.int(doc.length - 1); // at least one segment follows
      const e = takeSegments(doc, s, target, 2);
      const m = s + 1 + random.int(e - s - 1);
      a = run(doc.slice(s, m));
      b = run(doc.slice(m, e));
    }
  } else {
    const d = random.int(docs.length);
    const doc = docs[d];
    const s = random.int(doc.length);
    const e = takeSegments(doc, s, target, 1);
    a = run(doc.slice(s, s + 1 + random.int(e - s)));
    let other = random.int(docs.length - 1);
    if (other >= d) other++;
    const odoc = docs[other];
    const t = random.int(odoc.length);
    b = run(odoc.slice(t, takeSegments(odoc, t, target - a.size, 1)));
  }

  const [aLen, bLen] = truncatedLengths(a.size, b.size, target);

  let p = at;
  ids[p++] = opts.clsId;
  p = copyRun(a, a.size - aLen, aLen, ids, p);
  ids[p++] = opts.sepId;
  const bStart = p;
  p = copyRun(b, 0, bLen, ids, p);
  ids[p++] = opts.sepId;
  segments.fill(1, bStart, p);
  ids.fill(opts.padId, p, at + opts.maxLength);
  return [p - at, isNext];
}

/**
 * The lengths of A and B after BERT's truncate_seq_pair to at most `target` tokens: one token at a time
 * from the longer (B on ties) — in closed form: first the longer down towards the shorter, then both
 * alternately. Both stay >= 1 when target >= 2.
 */
function truncatedLengths(a: number, b: number, target: number): [number, number] {
  let excess = a + b - target;
  if (excess <= 0) return [a, b];
  const d = Math.min(excess, Math.abs(a - b));
  if (a > b) a -= d;
  else b -= d;
  excess -= d;
  return [a - Math.floor(excess / 2), b - Math.ceil(excess / 2)];
}

function run(pieces: Int32Array[]): Run {
  return { pieces, size: pieces.reduce((n, x) => n + x.length, 0) };
}

/** The end e of the segments [s, e) taken from s until they hold `want` tokens (at least `min` segments, at most the document). */
function takeSegments(doc: readonly Int32Array[], s: number, want: number, min: number): number {
  let e = s;
  let total = 0;
  while (e < doc.length && (total < want || e - s < min)) total += doc[e++].length;
  return e;
}

/** Copies tokens [skip, skip + count) of the run into out at p; returns the new p. */
function copyRun(r: Run, skip: number, count: number, out: Int32Array, p: number): number {
  for (const piece of r.pieces) {
    if (count === 0) break;
    if (skip >= piece.length) {
      skip -= piece.length;
      continue;
    }
    const take = Math.min(piece.length - skip, count);
    out.set(piece.subarray(skip, skip + take), p);
    p += take;
    count -= take;
    skip = 0;
  }
  return p;
}

/** Checks the documents' structure; returns the indices of those that can give a true pair. */
function checkDocuments(op: string, docs: NspDocuments): Eligible {
  if (!Array.isArray(docs) || docs.length < 2)
    throw argError(op, 'docs', 'an array of at least 2 documents (random pairs need another document)', describe(docs));
  const eligible: Eligible = [];
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d];
    if (!Array.isArray(doc) || doc.length === 0) throw argError(op, `docs[${d}]`, 'a non-empty array of segments (Int32Array)', describe(doc));
    for (let s = 0; s < doc.length; s++) {
      const seg = doc[s];
      if (!(seg instanceof Int32Array) || seg.length === 0) throw argError(op, `docs[${d}][${s}]`, 'a non-empty Int32Array of token ids', describe(seg));
    }
    if (doc.length >= 2 || doc[0].length >= 2) eligible.push(d);
  }
  if (eligible.length === 0)
    throw argError(op, 'docs', 'a document of two segments, or of one segment of two or more tokens (for true next pairs)', `${docs.length} documents that are each one single-token segment`);
  return eligible;
}

function checkOptions(op: string, opts: NspOptions): void {
  if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an object {maxLength, clsId, sepId, padId}', describe(opts));
  if (!Number.isSafeInteger(opts.maxLength) || opts.maxLength < 5)
    throw argError(op, 'opts.maxLength', 'an integer >= 5 ([CLS] A [SEP] B [SEP] with A and B non-empty)', describe(opts.maxLength));
  for (const name of ['clsId', 'sepId', 'padId'] as const) {
    const id = opts[name];
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 31) throw argError(op, `opts.${name}`, 'a token id (an integer in [0, 2^31))', describe(id));
  }
}

function checkRandom(op: string, random: Random): void {
  if (!(random instanceof Random)) throw argError(op, 'random', 'a Random', describe(random));
}
