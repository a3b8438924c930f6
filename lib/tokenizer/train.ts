/**
 * Training a byte-level BPE (GPT-2 style) on a corpus.
 *
 * 1. Cut the corpus into pieces with GPT-2's regex and count each distinct piece (a 10 MB corpus
 *    has ~2 M pieces but only tens of thousands of distinct ones; all later work is per distinct piece).
 * 2. Write each piece as byte-token ids and count every adjacent pair, weighted by piece count,
 *    remembering which pieces hold each pair.
 * 3. Repeatedly merge the most frequent pair into a new token. Only the pieces that hold the pair
 *    are rewritten, and each rewrite updates the counts of the pairs around each merge (HF's
 *    incremental scheme), so a merge costs the size of what it touches, not of the corpus.
 *    A lazy max-heap finds the best pair: an entry whose count is stale is re-pushed with the
 *    current count when popped (existing pairs only lose counts; a pair that gains is pushed anew).
 *
 * Determinism: ties between equally frequent pairs go to the smaller (left id, right id). Ids:
 * specials 0..k-1 (SPECIAL_NAMES order), byte b at k + b, then merged tokens in merge order. A merge
 * whose bytes equal an existing token's reuses that id (as HF does), so the vocabulary never spells
 * two tokens alike; the merge is still recorded.
 */
import { argError, describe } from '../errors';
import { BpeTokenizer, latin1 } from './bpe';
import { forEachText, type Corpus } from './corpus';
import { PairIndex, grow } from './pairIndex';
import { forEachPiece, gpt2Regex } from './pretokenize';
import { assignSpecialIds, normalizeSpecials, type SpecialName } from './specials';
import { wtf8Encode } from './wtf8';

/** Options of `trainBpe`. */
export interface TrainBpeOptions {
  /** Target number of ids: specials + 256 byte tokens + merged tokens. Training stops early only when no pair is left. */
  vocabSize: number;
  /** Which special tokens to reserve (ids 0..k-1); default all of SPECIAL_NAMES. */
  specials?: readonly SpecialName[];
  /** Pairs seen fewer times than this are never merged (default 1: merge while any pair is left). */
  minFrequency?: number;
  /** Called now and then with (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

/** Largest vocabulary we train: merge ranks must stay below 2^21 (see mergeTable.ts). */
export const MAX_TRAIN_VOCAB = 1 << 21;

/** Counts the distinct GPT-2 pre-tokens of a corpus. */
export function countPieces(op: string, corpus: Corpus): Map<string, number> {
  const counts = new Map<string, number>();
  const re = gpt2Regex();
  const add = (p: string) => counts.set(p, (counts.get(p) ?? 0) + 1);
  forEachText(op, corpus, (text) => forEachPiece(re, text, add));
  return counts;
}

/**
 * Trains a byte-level BPE on `corpus` to `options.vocabSize` ids. 4096 ids on the 10 MB default
 * corpus take a few seconds.
 */
export function trainBpe(corpus: Corpus, options: TrainBpeOptions): BpeTokenizer {
  const op = 'trainBpe';
  if (options === null || typeof options !== 'object') throw argError(op, 'options', 'an object like { vocabSize: 4096 }', describe(options));
  const names = normalizeSpecials(op, options.specials);
  const specials = assignSpecialIds(names);
  const k = specials.size;
  const vocabSize = options.vocabSize;
  if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize) || vocabSize < 256 + k || vocabSize > MAX_TRAIN_VOCAB) {
    throw argError(op, 'options.vocabSize', `an integer in [${256 + k}, ${MAX_TRAIN_VOCAB}] (256 byte tokens + ${k} specials at least)`, describe(vocabSize));
  }
  const minFrequency = options.minFrequency ?? 1;
  if (typeof minFrequency !== 'number' || !(minFrequency >= 1)) throw argError(op, 'options.minFrequency', 'a number >= 1', describe(minFrequency));
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw argError(op, 'options.onProgress', 'a function', describe(onProgress));

  // Pieces as byte-token ids, all in one array; a piece of one byte has no pair and is left out.
  const pieces = countPieces(op, corpus);
  let totalLen = 0;
  const encoded: Uint8Array[] = [];
  const counts: number[] = [];
  for (const [piece, count] of pieces) {
    const bytes = wtf8Encode(piece);
    if (bytes.length < 2) continue;
    encoded.push(bytes);
    counts.push(count);
    totalLen += bytes.length;
  }
  const nWords = encoded.length;
  const sym = new Int32Array(totalLen);
  const wordStart = new Int32Array(nWords);
  const wordLen = new Int32Array(nWords);
  const wordCount = Float64Array.from(counts);
  for (let w = 0, off = 0; w < nWords; w++) {
    const bytes = encoded[w];
    wordStart[w] = off;
    wordLen[w] = bytes.length;
    for (let i = 0; i < bytes.length; i++) sym[off + i] = k + bytes[i];
    off += bytes.length;
  }
  encoded.length = 0;

  const pairs = new PairIndex(1 << 16);
  let pairCount = new Float64Array(1 << 16);
  let lastWord = new Int32Array(1 << 16).fill(-1);
  let touchedAt = new Int32Array(1 << 16).fill(-1);
  const pairWords: number[][] = [];
  const pairOf = (a: number, b: number): number => {
    const p = pairs.add(a, b);
    if (p === pairWords.length) {
      pairWords.push([]);
      if (p === pairCount.length) {
        pairCount = grow(pairCount);
        const lw = new Int32Array(lastWord.length * 2).fill(-1);
        lw.set(lastWord);
        lastWord = lw;
        const ta = new Int32Array(touchedAt.length * 2).fill(-1);
        ta.set(touchedAt);
        touchedAt = ta;
      }
    }
    return p;
  };
  for (let w = 0; w < nWords; w++) {
    const s = wordStart[w];
    const c = wordCount[w];
    for (let i = s; i + 1 < s + wordLen[w]; i++) {
      const p = pairOf(sym[i], sym[i + 1]);
      pairCount[p] += c;
      if (lastWord[p] !== w) {
        lastWord[p] = w;
        pairWords[p].push(w);
      }
    }
  }

  const heap = new PairHeap(pairs, pairs.size + 1024);
  for (let p = 0; p < pairs.size; p++) heap.push(p, pairCount[p]);

  const tokenBytes: (Uint8Array | null)[] = [];
  for (let i = 0; i < k; i++) tokenBytes.push(null);
  const idByBytes = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    tokenBytes.push(Uint8Array.of(b));
    idByBytes.set(String.fromCharCode(b), k + b);
  }
  const merges: [number, number][] = [];
  const wanted = vocabSize - tokenBytes.length;
  const wordStamp = new Int32Array(nWords).fill(-1);
  const touched: number[] = [];

  while (tokenBytes.length < vocabSize) {
    // The best pair whose heap entry is current.
    let p = -1;
    while (heap.length > 0) {
      const [q, c] = heap.pop();
      if (c === pairCount[q]) {
        p = q;
        break;
      }
      if (pairCount[q] > 0) heap.push(q, pairCount[q]);
    }
    if (p < 0 || pairCount[p] < minFrequency) break;
    const a = pairs.a(p);
    const b = pairs.b(p);
    const ab = concat(tokenBytes[a]!, tokenBytes[b]!);
    const key = latin1(ab, 0, ab.length);
    let c = idByBytes.get(key);
    if (c === undefined) {
      c = tokenBytes.length;
      tokenBytes.push(ab);
      idByBytes.set(key, c);
    }
    const stamp = merges.length;
    merges.push([a, b]);

    touched.length = 0;
    const words = pairWords[p];
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi];
      if (wordStamp[w] === stamp) continue;
      wordStamp[w] = stamp;
      const count = wordCount[w];
      const change = (x: number, y: number, delta: number) => {
        const q = pairOf(x, y);
        if (q === p) return;
        pairCount[q] += delta * count;
        if (delta > 0) {
          if (lastWord[q] !== w) {
            lastWord[q] = w;
            pairWords[q].push(w);
          }
          if (touchedAt[q] !== stamp) {
            touchedAt[q] = stamp;
            touched.push(q);
          }
        }
      };
      const s = wordStart[w];
      const end = s + wordLen[w];
      let r = s;
      let out = s;
      while (r < end) {
        if (r + 1 < end && sym[r] === a && sym[r + 1] === b) {
          if (out > s) {
            const left = sym[out - 1];
            change(left, a, -1);
            change(left, c, 1);
          }
          sym[out++] = c;
          if (r + 2 < end) {
            const right = sym[r + 2];
            change(b, right, -1);
            change(c, right, 1);
          }
          r += 2;
        } else {
          sym[out++] = sym[r++];
        }
      }
      wordLen[w] = out - s;
    }
    pairCount[p] = 0;
    pairWords[p] = [];
    lastWord[p] = -1;
    for (const q of touched) if (pairCount[q] > 0) heap.push(q, pairCount[q]);
    if (onProgress !== undefined && (merges.length & 63) === 0) onProgress(merges.length, wanted);
  }
  if (onProgress !== undefined) onProgress(merges.length, wanted);
  return new BpeTokenizer({ kind: 'bpe', tokenBytes, specials, merges });
}

function concat(x: Uint8Array, y: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}

/** Max-heap of (pair, count) entries: higher count first, then smaller (left, right) ids. */
class PairHeap {
  private ids: Int32Array;
  private counts: Float64Array;
  length = 0;

  constructor(private readonly pairs: PairIndex, capacity: number) {
    this.ids = new Int32Array(capacity);
    this.counts = new Float64Array(capacity);
  }

  /** True when entry (p, c) goes before entry (q, d). */
  private before(p: number, c: number, q: number, d: number): boolean {
    if (c !== d) return c > d;
    const pa = this.pairs.a(p);
    const qa = this.pairs.a(q);
    if (pa !== qa) return pa < qa;
    return this.pairs.b(p) < this.pairs.b(q);
  }

  push(p: number, c: number): void {
    if (this.length === this.ids.length) {
      this.ids = grow(this.ids);
      this.counts = grow(this.counts);
    }
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(p, c, this.ids[parent], this.counts[parent])) break;
      this.ids[i] = this.ids[parent];
      this.counts[i] = this.counts[parent];
      i = parent;
    }
    this.ids[i] = p;
    this.counts[i] = c;
  }

  pop(): [number, number] {
    const top: [number, number] = [this.ids[0], this.counts[0]];
    const n = --this.length;
    const p = this.ids[n];
    const c = this.counts[n];
    let i = 0;
    for (;;) {
      let ch = 2 * i + 1;
      if (ch >= n) break;
      if (ch + 1 < n && this.before(this.ids[ch + 1], this.counts[ch + 1], this.ids[ch], this.counts[ch])) ch++;
      if (!this.before(this.ids[ch], this.counts[ch], p, c)) break;
      this.ids[i] = this.ids[ch];
      this.counts[i] = this.counts[ch];
      i = ch;
    }
    this.ids[i] = p;
    this.counts[i] = c;
    return top;
  }
}
