/**
 * The character-level tokenizer: one id per character (Unicode code point) seen in the corpus,
 * and byte-fallback ids `<0x00>`..`<0xFF>` for everything else, written as the character's WTF-8
 * bytes (as HF's `byte_fallback`, which uses UTF-8). So any JS string encodes and decodes back
 * exactly: unseen characters as their bytes, lone surrogates as their three WTF-8 bytes (lone
 * surrogates never get a character id of their own, since JSON/HF cannot hold them as vocabulary).
 *
 * Ids of a tokenizer built from a corpus: specials 0..k-1, `<0xNN>` at k + NN, then the corpus's
 * characters in ascending code point order: deterministic for a given corpus.
 *
 * tokenizer.json form: a BPE model with no merges and `byte_fallback: true`, no normalizer and no
 * pre-tokenizer, decoder Sequence[ByteFallback, Fuse]. HF `tokenizers` loads it and, for any valid
 * Unicode text, encodes to the same ids (each character is looked up; a missing one falls back to
 * `<0xNN>` tokens) and decodes to the same text. Lone surrogates cannot be HF input at all; HF would
 * decode their byte tokens to U+FFFD.
 */
import { argError, describe } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { addedTokens, readMergesFormat } from './bpe';
import { IdWriter, badId, checkIdList, checkText, encodeWithSpecials, readEncodeOptions, specialsRegex } from './ids';
import { assignSpecialIds, lookupSpecial, normalizeSpecials, type SpecialName } from './specials';
import { forEachText, type Corpus } from './corpus';
import type { EncodeOptions, HfTokenizerJson, HuggingFaceJSONOptions, Tokenizer } from './types';
import { wtf8Decode } from './wtf8';

/** Options of `CharTokenizer.fromCorpus`. */
export interface CharTokenizerOptions {
  /** Which special tokens to reserve (ids 0..k-1); default all of SPECIAL_NAMES. */
  specials?: readonly SpecialName[];
  /**
   * Cap on the number of ids (specials + 256 byte tokens + characters): only the most frequent
   * characters get ids (ties to the lower code point), the rest use byte fallback. Default: no cap.
   */
  vocabSize?: number;
}

/** What a character tokenizer is made of: any id layout (a loaded tokenizer.json keeps its own). */
export interface CharParts {
  /** Code point -> id; no surrogate code points. */
  chars: ReadonlyMap<number, number>;
  /** byteIds[b]: the id of `<0xBB>`. */
  byteIds: ArrayLike<number>;
  /** Special tokens: string -> id. */
  specials: ReadonlyMap<string, number>;
}

const KIND_NONE = 0;
const KIND_CHAR = 1;
const KIND_BYTE = 2;
const KIND_SPECIAL = 3;

/** The name HF's byte_fallback gives byte b: `<0x0A>` (uppercase hex). */
export function byteTokenName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** A character-level tokenizer with byte fallback. */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;

  private readonly bmp = new Int32Array(0x10000).fill(-1);
  private readonly astral = new Map<number, number>();
  private readonly byteIds = new Int32Array(256);
  private readonly idKind: Uint8Array;
  private readonly idValue: Int32Array; // code point, byte, or -1
  private readonly specialById = new Map<number, string>();
  private readonly specialRe: RegExp | null;

  /**
   * Builds a character tokenizer on `corpus` (a string or an iterable of strings): every distinct
   * code point gets an id (or the most frequent ones, with `options.vocabSize`).
   */
  static fromCorpus(corpus: Corpus, options: CharTokenizerOptions = {}): CharTokenizer {
    const op = 'CharTokenizer.fromCorpus';
    if (options === null || typeof options !== 'object') throw argError(op, 'options', 'an object', describe(options));
    const specials = assignSpecialIds(normalizeSpecials(op, options.specials));
    const k = specials.size;
    const cap = options.vocabSize;
    if (cap !== undefined && (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 256 + k)) {
      throw argError(op, 'options.vocabSize', `an integer >= ${256 + k} (256 byte tokens + ${k} specials)`, describe(cap));
    }
    const bmpCount = new Float64Array(0x10000);
    const astralCount = new Map<number, number>();
    forEachText(op, corpus, (text) => {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < 0xd800 || c > 0xdfff) bmpCount[c]++;
        else if (c <= 0xdbff && i + 1 < text.length) {
          const d = text.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            astralCount.set(cp, (astralCount.get(cp) ?? 0) + 1);
            i++;
          }
        }
      }
    });
    let seen: [number, number][] = [];
    for (let c = 0; c < 0x10000; c++) if (bmpCount[c] > 0) seen.push([c, bmpCount[c]]);
    for (const [cp, n] of astralCount) seen.push([cp, n]);
    if (cap !== undefined && seen.length > cap - 256 - k) {
      seen.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
      seen = seen.slice(0, cap - 256 - k);
    }
    const codePoints = seen.map((s) => s[0]).sort((x, y) => x - y);
    const chars = new Map<number, number>();
    codePoints.forEach((cp, i) => chars.set(cp, k + 256 + i));
    const byteIds = Array.from({ length: 256 }, (_, b) => k + b);
    return new CharTokenizer({ chars, byteIds, specials });
  }

  /** Builds a tokenizer from its parts (see `fromCorpus` and `fromHuggingFaceJSON` for the usual ways). */
  constructor(parts: CharParts) {
    const op = 'CharTokenizer';
    let vocabSize = 0;
    for (const id of parts.chars.values()) vocabSize = Math.max(vocabSize, id + 1);
    for (let b = 0; b < 256; b++) vocabSize = Math.max(vocabSize, parts.byteIds[b] + 1);
    for (const id of parts.specials.values()) vocabSize = Math.max(vocabSize, id + 1);
    if (!Number.isFinite(vocabSize)) throw argError(op, 'parts', 'integer ids', 'a non-integer id');
    this.vocabSize = vocabSize;
    this.idKind = new Uint8Array(vocabSize);
    this.idValue = new Int32Array(vocabSize).fill(-1);
    const claim = (id: number, kind: number, value: number, what: string) => {
      if (!Number.isInteger(id) || id < 0) throw argError(op, what, 'a non-negative integer id', describe(id));
      if (this.idKind[id] !== KIND_NONE) throw argError(op, what, 'an id no other token has', `${id}, already taken`);
      this.idKind[id] = kind;
      this.idValue[id] = value;
    };
    for (const [cp, id] of parts.chars) {
      if (!Number.isInteger(cp) || cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw argError(op, 'chars', 'Unicode scalar values (no surrogates)', describe(cp));
      }
      claim(id, KIND_CHAR, cp, `chars[U+${cp.toString(16).toUpperCase()}]`);
      if (cp < 0x10000) this.bmp[cp] = id;
      else this.astral.set(cp, id);
    }
    if (parts.byteIds.length !== 256) throw argError(op, 'byteIds', '256 ids', describe(parts.byteIds));
    for (let b = 0; b < 256; b++) {
      claim(parts.byteIds[b], KIND_BYTE, b, `byteIds[${b}]`);
      this.byteIds[b] = parts.byteIds[b];
    }
    for (const [content, id] of parts.specials) {
      claim(id, KIND_SPECIAL, -1, `specials[${JSON.stringify(content)}]`);
      this.specialById.set(id, content);
    }
    this.specialTokens = new Map(parts.specials);
    this.specialRe = specialsRegex(this.specialTokens);
  }

  /** Number of characters with their own id. */
  get charCount(): number {
    return this.bmp.reduce((n, id) => n + (id >= 0 ? 1 : 0), 0) + this.astral.size;
  }

  /** {@inheritDoc Tokenizer.specialId} */
  specialId(name: SpecialName): number | undefined {
    return lookupSpecial('CharTokenizer.specialId', this.specialTokens, name);
  }

  /** {@inheritDoc Tokenizer.encode} */
  encode(text: string, options?: EncodeOptions): Uint32Array {
    const op = 'CharTokenizer.encode';
    checkText(op, text);
    const recognise = readEncodeOptions(op, options);
    const out = new IdWriter(text.length + 16);
    encodeWithSpecials(text, recognise, this.specialTokens, this.specialRe, out, (segment, w) => this.encodeOrdinary(segment, w));
    return out.result();
  }

  private encodeOrdinary(text: string, out: IdWriter): void {
    const bmp = this.bmp;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 0xd800 || c > 0xdfff) {
        const id = bmp[c];
        if (id >= 0) out.push(id);
        else this.fallback(c, out);
        continue;
      }
      if (c <= 0xdbff && i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          const id = this.astral.get(cp);
          if (id !== undefined) out.push(id);
          else this.fallback(cp, out);
          continue;
        }
      }
      this.fallback(c, out); // a lone surrogate: its three WTF-8 bytes
    }
  }

  /** Writes the byte-fallback ids of code point cp (WTF-8 bytes). */
  private fallback(cp: number, out: IdWriter): void {
    const ids = this.byteIds;
    if (cp < 0x80) out.push(ids[cp]);
    else if (cp < 0x800) {
      out.push(ids[0xc0 | (cp >> 6)]);
      out.push(ids[0x80 | (cp & 0x3f)]);
    } else if (cp < 0x10000) {
      out.push(ids[0xe0 | (cp >> 12)]);
      out.push(ids[0x80 | ((cp >> 6) & 0x3f)]);
      out.push(ids[0x80 | (cp & 0x3f)]);
    } else {
      out.push(ids[0xf0 | (cp >> 18)]);
      out.push(ids[0x80 | ((cp >> 12) & 0x3f)]);
      out.push(ids[0x80 | ((cp >> 6) & 0x3f)]);
      out.push(ids[0x80 | (cp & 0x3f)]);
    }
  }

  /** {@inheritDoc Tokenizer.decode} */
  decode(ids: ArrayLike<number>): string {
    const op = 'CharTokenizer.decode';
    checkIdList(op, ids);
    const V = this.vocabSize;
    const kind = this.idKind;
    const value = this.idValue;
    // UTF-16 code units, turned into a string in chunks (String.fromCharCode keeps lone surrogates,
    // which TextDecoder('utf-16le') would replace).
    let units = new Uint16Array(Math.max(16, ids.length * 2));
    let n = 0;
    const bytes = new Uint8Array(ids.length);
    let nBytes = 0;
    const reserve = (extra: number) => {
      if (n + extra <= units.length) return;
      const u = new Uint16Array(Math.max(units.length * 2, n + extra));
      u.set(units.subarray(0, n));
      units = u;
    };
    const put = (s: string) => {
      reserve(s.length);
      for (let j = 0; j < s.length; j++) units[n++] = s.charCodeAt(j);
    };
    const flushBytes = () => {
      if (nBytes > 0) put(wtf8Decode(bytes, nBytes));
      nBytes = 0;
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < V) || id !== Math.floor(id)) throw badId(op, i, id, V);
      const k = kind[id];
      if (k === KIND_BYTE) {
        bytes[nBytes++] = value[id];
        continue;
      }
      flushBytes();
      if (k === KIND_CHAR) {
        const cp = value[id];
        reserve(2);
        if (cp < 0x10000) units[n++] = cp;
        else {
          units[n++] = 0xd800 + ((cp - 0x10000) >> 10);
          units[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        }
      } else if (k === KIND_SPECIAL) put(this.specialById.get(id)!);
      else throw badId(op, i, id, V, ' that is assigned to a token');
    }
    flushBytes();
    let out = '';
    for (let i = 0; i < n; i += 8192) out += String.fromCharCode.apply(null, units.subarray(i, Math.min(n, i + 8192)) as unknown as number[]);
    return out;
  }

  /** {@inheritDoc Tokenizer.toHuggingFaceJSON} */
  toHuggingFaceJSON(options?: HuggingFaceJSONOptions): HfTokenizerJson {
    readMergesFormat('CharTokenizer.toHuggingFaceJSON', options); // checked for symmetry; there are no merges
    const vocab = Object.create(null) as Record<string, number>;
    for (let id = 0; id < this.vocabSize; id++) {
      const k = this.idKind[id];
      if (k === KIND_CHAR) vocab[String.fromCodePoint(this.idValue[id])] = id;
      else if (k === KIND_BYTE) vocab[byteTokenName(this.idValue[id])] = id;
      else if (k === KIND_SPECIAL) vocab[this.specialById.get(id)!] = id;
    }
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokens(this.specialTokens),
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Fuse' }] },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: true,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    };
  }

  /** {@inheritDoc Tokenizer.save} */
  save(path: string, options?: HuggingFaceJSONOptions): void {
    writeFileAtomic(path, JSON.stringify(this.toHuggingFaceJSON(options), null, 2) + '\n');
  }

  /** A short description for error messages. */
  describe(): string {
    return `a char tokenizer (${this.vocabSize} ids)`;
  }
}
