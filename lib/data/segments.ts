/**
 * Documents of segments for next-sentence prediction, cut from a token stream: documents end at the
 * document separator (the tokenizer's end-of-text id, as the shard joins them), segments after a
 * sentence-ending token (one whose text ends in . ! ? or a line break), and no segment is longer than
 * `maxSegment` tokens (a long one is cut into pieces). Works on any tokenizer's ids, from the ids alone.
 */
import { argError, describe } from '../errors';
import type { TokenArray } from './sampler';
import type { TokenRange } from './split';

/** Options of {@link segmentDocuments}. */
export interface SegmentOptions {
  /** The ids between documents (usually [eos]). */
  separator: readonly number[];
  /** True for ids after which a sentence ends. */
  endsSentence: (id: number) => boolean;
  /** The longest segment kept whole (longer ones are cut). */
  maxSegment: number;
}

/** True for a token text that ends a sentence: its last non-space character is . ! ? or it holds a line break. */
export function isSentenceEnd(text: string): boolean {
  return /[.!?]["')\]]*\s*$/.test(text) || text.includes('\n');
}

/** The documents (each a list of non-empty segments) of the token ranges, in order. */
export function segmentDocuments(tokens: TokenArray, ranges: readonly TokenRange[], opts: SegmentOptions): Int32Array[][] {
  const op = 'segmentDocuments';
  if (!Number.isInteger(opts.maxSegment) || opts.maxSegment < 1) throw argError(op, 'opts.maxSegment', 'a positive integer', describe(opts.maxSegment));
  if (opts.separator.length < 1) throw argError(op, 'opts.separator', 'at least one id', '[]');
  const sep = opts.separator;
  const docs: Int32Array[][] = [];
  for (const r of ranges) {
    const ids = Int32Array.from(tokens.subarray(r.start, r.end));
    let doc: Int32Array[] = [];
    let start = 0;
    const cut = (end: number) => {
      for (let s = start; s < end; s += opts.maxSegment) doc.push(ids.subarray(s, Math.min(end, s + opts.maxSegment)));
      start = end;
    };
    for (let i = 0; i < ids.length; i++) {
      if (matchesAt(ids, i, sep)) {
        cut(i);
        if (doc.length) docs.push(doc);
        doc = [];
        start = i + sep.length;
        i += sep.length - 1;
      } else if (opts.endsSentence(ids[i])) {
        cut(i + 1);
      }
    }
    cut(ids.length);
    if (doc.length) docs.push(doc);
  }
  return docs;
}

function matchesAt(ids: Int32Array, i: number, sep: readonly number[]): boolean {
  if (i + sep.length > ids.length) return false;
  for (let j = 0; j < sep.length; j++) if (ids[i + j] !== sep[j]) return false;
  return true;
}
