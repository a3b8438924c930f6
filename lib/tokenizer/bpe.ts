/**
 * The byte-level BPE tokenizer (GPT-2 style): text is cut by GPT-2's pre-tokenizer regex, each
 * piece is turned into WTF-8 bytes, each byte into its byte token, and the merge table is applied
 * within the piece. Used for tokenizers we train (`kind: 'bpe'`), read from tokenizer.json, and
 * for GPT-2's own r50k vocabulary (`kind: 'gpt2'`, see gpt2.ts).
 *
 * Encoding keeps a per-piece cache (piece string -> ids): natural text repeats its words, so most
 * pieces are one Map lookup. The cache is cleared when it reaches CACHE_MAX entries, and pieces
 * longer than CACHE_MAX_PIECE code units are not cached, so memory stays bounded on any input.
 */
import { argError, describe } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { bytesToByteLevel } from './byteLevel';
import { IdWriter, badId, checkIdList, checkText, encodeWithSpecials, readEncodeOptions, specialsRegex } from './ids';
import { MergeTable, mergeWord } from './mergeTable';
import { forEachPiece, gpt2Regex } from './pretokenize';
import { lookupSpecial, type SpecialName } from './specials';
import type { EncodeOptions, HfAddedToken, HfTokenizerJson, HuggingFaceJSONOptions, Tokenizer } from './types';
import { wtf8Decode, wtf8EncodeInto } from './wtf8';

const CACHE_MAX = 1 << 17;
const CACHE_MAX_PIECE = 256;

/** What a byte-level BPE is made of. */
export interface BpeParts {
  kind: 'bpe' | 'gpt2';
  /** tokenBytes[id]: the bytes of token id; null for special and unassigned ids. */
  tokenBytes: (Uint8Array | null)[];
  /** Special tokens: string -> id (ids whose tokenBytes is null). */
  specials: ReadonlyMap<string, number>;
  /** The merges in rank order, as (left id, right id); their results are the ids whose bytes are the concatenation. */
  merges?: readonly (readonly [number, number])[];
  /** A ready merge table, when merges are not a plain list (GPT-2's ranks); `getMerges` gives the list for saving. */
  table?: MergeTable;
  getMerges?: () => readonly (readonly [number, number])[];
  /**
   * When true, a piece whose bytes are a token is that token without running merges (HF's
   * `ignore_merges`, tiktoken's behaviour).
   */
  ignoreMerges?: boolean;
}

/** A byte-level BPE tokenizer. */
export class BpeTokenizer implements Tokenizer {
  readonly kind: 'bpe' | 'gpt2';
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;
  /** Whether a piece that is itself a token skips merging (HF ignore_merges). */
  readonly ignoreMerges: boolean;

  private readonly table: MergeTable;
  private readonly byteIds = new Int32Array(256);
  private readonly tokData: Uint8Array; // all tokens' bytes, concatenated
  private readonly tokStart: Int32Array; // tokStart[id]: offset in tokData
  private readonly tokLen: Int32Array; // bytes of id; -1 unassigned, -2 special
  private readonly specialById = new Map<number, string>();
  private readonly tokenIdByBytes: Map<string, number> | null;
  private mergesList: readonly (readonly [number, number])[] | undefined;
  private readonly getMerges: (() => readonly (readonly [number, number])[]) | undefined;
  private readonly re = gpt2Regex();
  private readonly specialRe: RegExp | null;
  private cache = new Map<string, number | Uint32Array>();
  private scratchBytes = new Uint8Array(3 * CACHE_MAX_PIECE);
  private scratchIds = new Int32Array(3 * CACHE_MAX_PIECE);

  /** Builds a tokenizer from its parts (see `trainBpe`, `gpt2Tokenizer`, `fromHuggingFaceJSON` for the usual ways). */
  constructor(parts: BpeParts) {
    const op = 'BpeTokenizer';
    this.kind = parts.kind;
    const tokenBytes = parts.tokenBytes;
    let vocabSize = tokenBytes.length;
    for (const id of parts.specials.values()) vocabSize = Math.max(vocabSize, id + 1);
    this.vocabSize = vocabSize;
    this.specialTokens = new Map(parts.specials);
    this.ignoreMerges = parts.ignoreMerges ?? false;

    let total = 0;
    for (const b of tokenBytes) total += b === null ? 0 : b.length;
    this.tokData = new Uint8Array(total);
    this.tokStart = new Int32Array(vocabSize);
    this.tokLen = new Int32Array(vocabSize).fill(-1);
    const byBytes = new Map<string, number>();
    this.byteIds.fill(-1);
    let off = 0;
    for (let id = 0; id < tokenBytes.length; id++) {
      const b = tokenBytes[id];
      if (b === null) continue;
      if (b.length === 0) throw argError(op, `tokenBytes[${id}]`, 'a non-empty byte string', 'an empty one');
      const key = latin1(b, 0, b.length);
      const dup = byBytes.get(key);
      if (dup !== undefined) throw argError(op, `tokenBytes[${id}]`, 'bytes unique to one token', `the bytes of token ${dup} again`);
      byBytes.set(key, id);
      if (b.length === 1) this.byteIds[b[0]] = id;
      this.tokData.set(b, off);
      this.tokStart[id] = off;
      this.tokLen[id] = b.length;
      off += b.length;
    }
    for (let byte = 0; byte < 256; byte++) {
      if (this.byteIds[byte] < 0) throw argError(op, 'tokenBytes', 'a token for each of the 256 single bytes', `none for byte 0x${byte.toString(16).padStart(2, '0')}`);
    }
    for (const [content, id] of parts.specials) {
      if (!Number.isInteger(id) || id < 0) throw argError(op, 'specials', 'non-negative integer ids', `${describe(id)} for ${describe(content)}`);
      if (this.tokLen[id] >= 0) throw argError(op, 'specials', 'ids not used by a byte token', `${id} for ${describe(content)}, which is also a byte token`);
      if (this.specialById.has(id)) throw argError(op, 'specials', 'one string per id', `${describe(this.specialById.get(id))} and ${describe(content)} both at ${id}`);
      this.tokLen[id] = -2;
      this.specialById.set(id, content);
    }
    this.tokenIdByBytes = this.ignoreMerges ? byBytes : null;

    if (parts.table !== undefined) {
      this.table = parts.table;
      this.getMerges = parts.getMerges;
    } else {
      const merges = parts.merges ?? [];
      this.table = new MergeTable(merges.length);
      for (let r = 0; r < merges.length; r++) {
        const [a, b] = merges[r];
        if (!(this.tokLen[a] > 0) || !(this.tokLen[b] > 0)) throw argError(op, `merges[${r}]`, 'two byte-token ids', `(${describe(a)}, ${describe(b)})`);
        const key = latin1(this.tokData, this.tokStart[a], this.tokStart[a] + this.tokLen[a]) + latin1(this.tokData, this.tokStart[b], this.tokStart[b] + this.tokLen[b]);
        const merged = byBytes.get(key);
        if (merged === undefined) throw argError(op, `merges[${r}]`, 'a pair whose concatenation is a token', `(${a}, ${b}), whose bytes are no token`);
        this.table.set(a, b, r, merged);
      }
      this.mergesList = merges;
    }
    this.specialRe = specialsRegex(this.specialTokens);
  }

  /** Empties the per-piece encode cache (frees its memory; benchmarks use it to time cold encodes). */
  clearCache(): void {
    this.cache = new Map();
  }

  /** The merges in rank order as (left id, right id). */
  merges(): readonly (readonly [number, number])[] {
    if (this.mergesList === undefined) this.mergesList = this.getMerges ? this.getMerges() : [];
    return this.mergesList;
  }

  /** The bytes of token `id` (a copy), or null for a special or unassigned id. */
  tokenBytes(id: number): Uint8Array | null {
    if (!(id >= 0 && id < this.vocabSize) || this.tokLen[id] < 0) return null;
    return this.tokData.slice(this.tokStart[id], this.tokStart[id] + this.tokLen[id]);
  }

  /** {@inheritDoc Tokenizer.specialId} */
  specialId(name: SpecialName): number | undefined {
    return lookupSpecial('BpeTokenizer.specialId', this.specialTokens, name);
  }

  /** {@inheritDoc Tokenizer.encode} */
  encode(text: string, options?: EncodeOptions): Uint32Array {
    const op = 'BpeTokenizer.encode';
    checkText(op, text);
    const recognise = readEncodeOptions(op, options);
    // ~4 characters per token in English prose; the writer grows when that guess is low.
    const out = new IdWriter((text.length >> 2) + 16);
    encodeWithSpecials(text, recognise, this.specialTokens, this.specialRe, out, (segment, w) => this.encodeOrdinary(segment, w));
    return out.result();
  }

  private encodeOrdinary(text: string, out: IdWriter): void {
    const cache = this.cache;
    forEachPiece(this.re, text, (piece) => {
      let ids = cache.get(piece);
      if (ids === undefined) {
        ids = this.encodePiece(piece);
        if (piece.length <= CACHE_MAX_PIECE) {
          if (cache.size >= CACHE_MAX) cache.clear();
          cache.set(piece, ids);
        }
      }
      if (typeof ids === 'number') out.push(ids);
      else out.pushAll(ids);
    });
  }

  /** The ids of one pre-token piece: one id as a number, several as an array. */
  private encodePiece(piece: string): number | Uint32Array {
    if (this.scratchBytes.length < 3 * piece.length) {
      this.scratchBytes = new Uint8Array(3 * piece.length);
      this.scratchIds = new Int32Array(3 * piece.length);
    }
    const bytes = this.scratchBytes;
    const ids = this.scratchIds;
    const n = wtf8EncodeInto(piece, 0, piece.length, bytes);
    if (this.tokenIdByBytes !== null && n > 1) {
      const whole = this.tokenIdByBytes.get(latin1(bytes, 0, n));
      if (whole !== undefined) return whole;
    }
    for (let i = 0; i < n; i++) ids[i] = this.byteIds[bytes[i]];
    const m = mergeWord(ids, n, this.table);
    return m === 1 ? ids[0] : Uint32Array.from(ids.subarray(0, m));
  }

  /** {@inheritDoc Tokenizer.decode} */
  decode(ids: ArrayLike<number>): string {
    const op = 'BpeTokenizer.decode';
    checkIdList(op, ids);
    const V = this.vocabSize;
    const tokLen = this.tokLen;
    let total = 0;
    let specials = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < V) || id !== Math.floor(id)) throw badId(op, i, id, V);
      const len = tokLen[id];
      if (len === -1) throw badId(op, i, id, V, ' that is assigned to a token');
      if (len === -2) specials++;
      else total += len;
    }
    const bytes = new Uint8Array(total);
    const data = this.tokData;
    const start = this.tokStart;
    let n = 0;
    if (specials === 0) {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        const s = start[id];
        const len = tokLen[id];
        if (len === 1) bytes[n++] = data[s];
        else {
          bytes.set(data.subarray(s, s + len), n);
          n += len;
        }
      }
      return wtf8Decode(bytes, n);
    }
    // Special tokens are text, not bytes: decode the bytes between them, then append the string.
    let out = '';
    let from = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const len = tokLen[id];
      if (len === -2) {
        out += wtf8Decode(bytes.subarray(from, n)) + this.specialById.get(id)!;
        from = n;
        continue;
      }
      bytes.set(data.subarray(start[id], start[id] + len), n);
      n += len;
    }
    return out + wtf8Decode(bytes.subarray(from, n));
  }

  /** {@inheritDoc Tokenizer.toHuggingFaceJSON} */
  toHuggingFaceJSON(options?: HuggingFaceJSONOptions): HfTokenizerJson {
    const asPairs = readMergesFormat('BpeTokenizer.toHuggingFaceJSON', options);
    const names: (string | undefined)[] = new Array(this.vocabSize);
    // A null-prototype object: a token spelled "__proto__" must be a key like any other.
    const vocab = Object.create(null) as Record<string, number>;
    for (let id = 0; id < this.vocabSize; id++) {
      const len = this.tokLen[id];
      if (len === -1) continue;
      const name = len === -2 ? this.specialById.get(id)! : bytesToByteLevel(this.tokData, this.tokStart[id], this.tokStart[id] + len);
      if (name in vocab) throw new Error(`BpeTokenizer.toHuggingFaceJSON: tokens ${vocab[name]} and ${id} are both spelled ${JSON.stringify(name)}`);
      vocab[name] = id;
      names[id] = name;
    }
    const merges = this.merges().map(([a, b]) => (asPairs ? [names[a]!, names[b]!] : `${names[a]} ${names[b]}`));
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokens(this.specialTokens),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: null,
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: this.ignoreMerges,
        vocab,
        merges: merges as string[] | [string, string][],
      },
    };
  }

  /** {@inheritDoc Tokenizer.save} */
  save(path: string, options?: HuggingFaceJSONOptions): void {
    writeFileAtomic(path, JSON.stringify(this.toHuggingFaceJSON(options), null, 2) + '\n');
  }

  /** A short description for error messages. */
  describe(): string {
    return `a ${this.kind} tokenizer (${this.vocabSize} ids)`;
  }
}

/** tokenizer.json's added_tokens for `specials`, in id order. */
export function addedTokens(specials: ReadonlyMap<string, number>): HfAddedToken[] {
  return [...specials]
    .sort((x, y) => x[1] - y[1])
    .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}

/** Reads HuggingFaceJSONOptions.merges: true for pairs. */
export function readMergesFormat(op: string, options: HuggingFaceJSONOptions | undefined): boolean {
  const m = options?.merges;
  if (m === undefined || m === 'strings') return false;
  if (m === 'pairs') return true;
  throw argError(op, 'options.merges', "'strings' or 'pairs'", describe(m));
}

/** bytes[start, end) as a latin1 string: a cheap exact Map key for a byte string. */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}
