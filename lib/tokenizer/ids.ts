/**
 * Small shared pieces of encode/decode: a growable id buffer, argument checks with our standard
 * errors, and the split of text on special-token strings.
 */
import { argError, describe } from '../errors';
import type { EncodeOptions } from './types';

/** A growable Uint32Array of token ids. */
export class IdWriter {
  private buf: Uint32Array;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint32Array(Math.max(16, capacity));
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const b = new Uint32Array(cap);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }

  push(id: number): void {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = id;
  }

  pushAll(ids: Uint32Array): void {
    this.reserve(ids.length);
    this.buf.set(ids, this.length);
    this.length += ids.length;
  }

  /** The ids written, in an array of exactly that length. */
  result(): Uint32Array {
    return this.length === this.buf.length ? this.buf : this.buf.slice(0, this.length);
  }
}

/** Throws unless `text` is a string. */
export function checkText(op: string, text: unknown): asserts text is string {
  if (typeof text !== 'string') throw argError(op, 'text', 'a string', describe(text));
}

/** Reads and checks encode options; returns whether special strings are recognised. */
export function readEncodeOptions(op: string, options: EncodeOptions | undefined): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object') throw argError(op, 'options', "an object like { specials: 'none' | 'all' }", describe(options));
  const s = options.specials;
  if (s === undefined || s === 'none') return false;
  if (s === 'all') return true;
  throw argError(op, 'options.specials', "'none' or 'all'", describe(s));
}

/** Throws unless `ids` is an array-like of numbers (an Array or a typed array; not a string). */
export function checkIdList(op: string, ids: unknown): asserts ids is ArrayLike<number> {
  const ok = Array.isArray(ids) || (ArrayBuffer.isView(ids) && !(ids instanceof DataView) && !(ids instanceof BigInt64Array) && !(ids instanceof BigUint64Array));
  if (!ok) throw argError(op, 'ids', 'an array or typed array of token ids', describe(ids));
}

/** The error for a bad id at ids[index]. */
export function badId(op: string, index: number, id: unknown, vocabSize: number, why = ''): Error {
  return argError(op, `ids[${index}]`, `an integer token id in [0, ${vocabSize})${why}`, describe(id));
}

/** A regex matching any of the special strings, longest first so a prefix never wins. */
export function specialsRegex(specials: ReadonlyMap<string, number>): RegExp | null {
  if (specials.size === 0) return null;
  const alts = [...specials.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).map((s) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
  return new RegExp(alts.join('|'), 'gu');
}

/**
 * Encodes `text` with `ordinary` between special strings, writing special ids where the strings
 * occur (leftmost, longest first); with `recognise` false the whole text is ordinary.
 */
export function encodeWithSpecials(
  text: string,
  recognise: boolean,
  specials: ReadonlyMap<string, number>,
  re: RegExp | null,
  out: IdWriter,
  ordinary: (segment: string, out: IdWriter) => void,
): void {
  if (!recognise || re === null) {
    ordinary(text, out);
    return;
  }
  re.lastIndex = 0;
  let pos = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > pos) ordinary(text.slice(pos, m.index), out);
    out.push(specials.get(m[0])!);
    pos = m.index + m[0].length;
  }
  if (pos < text.length) ordinary(pos === 0 ? text : text.slice(pos), out);
}
