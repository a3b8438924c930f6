/**
 * Reading and writing Hugging Face tokenizer.json, and `loadTokenizer`, which picks the class.
 *
 * Two forms are read, the two we write:
 * - byte-level BPE (GPT-2 style): model.type "BPE", ByteLevel pre-tokenizer (GPT-2 regex, no prefix
 *   space) and ByteLevel decoder; vocab in ByteLevel spelling; merges as "a b" strings or ["a", "b"]
 *   pairs; added_tokens are the specials. GPT-2's own vocabulary and merges load as `gpt2Tokenizer()`.
 * - character-level: model.type "BPE" with byte_fallback and no merges, no pre-tokenizer: vocab of
 *   single characters, `<0xNN>` byte tokens and the specials.
 * Anything else (WordPiece, Unigram, SentencePiece-style BPE with merges and byte fallback, a
 * normalizer) is refused with an error saying what is supported.
 */
import * as fs from 'fs';

import { argError, describe } from '../errors';
import { BpeTokenizer } from './bpe';
import { byteLevelToBytes } from './byteLevel';
import { CharTokenizer } from './char';
import { gpt2Tokenizer } from './gpt2';
import type { HuggingFaceJSONOptions, Tokenizer } from './types';

/** Options of `fromHuggingFaceJSON`. */
export interface FromHuggingFaceOptions {
  /** Recognise GPT-2's vocabulary and merges and return `gpt2Tokenizer()` (default true). */
  detectGpt2?: boolean;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Builds the tokenizer a parsed tokenizer.json describes. */
export function fromHuggingFaceJSON(json: unknown, options: FromHuggingFaceOptions = {}): Tokenizer {
  return parse('fromHuggingFaceJSON', 'json', json, options);
}

/** Reads tokenizer.json at `path` and builds its tokenizer (char, bpe or gpt2). */
export function loadTokenizer(path: string): Tokenizer {
  const op = 'loadTokenizer';
  if (typeof path !== 'string' || path.length === 0) throw argError(op, 'path', 'a non-empty string', describe(path));
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (err as Error).message;
    throw argError(op, 'path', 'a readable tokenizer.json file', `'${path}' (${why})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw argError(op, 'path', 'a file of valid JSON', `'${path}' (${(err as Error).message})`);
  }
  return parse(op, path, json, {});
}

/** Writes `tokenizer` to `path` as tokenizer.json, atomically. */
export function saveTokenizer(tokenizer: Tokenizer, path: string, options?: HuggingFaceJSONOptions): void {
  const op = 'saveTokenizer';
  if (tokenizer === null || typeof tokenizer !== 'object' || typeof (tokenizer as Tokenizer).save !== 'function') {
    throw argError(op, 'tokenizer', 'a Tokenizer', describe(tokenizer));
  }
  if (typeof path !== 'string' || path.length === 0) throw argError(op, 'path', 'a non-empty string', describe(path));
  tokenizer.save(path, options);
}

function parse(op: string, where: string, json: unknown, options: FromHuggingFaceOptions): Tokenizer {
  const arg = (field: string) => `${where}: ${field}`;
  const supported = 'a byte-level BPE (ByteLevel pre-tokenizer and decoder) or a character tokenizer (BPE with byte_fallback and no merges)';
  if (!isObj(json)) throw argError(op, arg('(top level)'), 'a tokenizer.json object', describe(json));
  const model = json.model;
  if (!isObj(model)) throw argError(op, arg('model'), 'an object', describe(model));
  if (model.type !== 'BPE') throw argError(op, arg('model.type'), `"BPE" (${supported})`, describe(model.type));
  if (json.normalizer !== null && json.normalizer !== undefined) throw argError(op, arg('normalizer'), `null (${supported})`, describe(json.normalizer));
  if (model.dropout !== null && model.dropout !== undefined) throw argError(op, arg('model.dropout'), 'null (deterministic BPE)', describe(model.dropout));
  for (const f of ['continuing_subword_prefix', 'end_of_word_suffix', 'unk_token']) {
    const v = model[f];
    if (v !== null && v !== undefined && v !== '') throw argError(op, arg(`model.${f}`), 'null or ""', describe(v));
  }

  const vocab = model.vocab;
  if (!isObj(vocab)) throw argError(op, arg('model.vocab'), 'an object of token -> id', describe(vocab));
  const merges = model.merges;
  if (!Array.isArray(merges)) throw argError(op, arg('model.merges'), 'an array', describe(merges));

  const specials = new Map<string, number>();
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw argError(op, arg('added_tokens'), 'an array', describe(added));
  added.forEach((t, i) => {
    if (!isObj(t) || typeof t.content !== 'string' || !isId(t.id)) throw argError(op, arg(`added_tokens[${i}]`), 'an object with a string content and an integer id >= 0', describe(t));
    specials.set(t.content, t.id);
  });
  const entries = Object.entries(vocab);
  for (const [token, id] of entries) {
    if (!isId(id)) throw argError(op, arg(`model.vocab[${JSON.stringify(token)}]`), 'an integer id >= 0', describe(id));
    const special = specials.get(token);
    if (special !== undefined && special !== id) throw argError(op, arg(`model.vocab[${JSON.stringify(token)}]`), `the id its added_tokens entry has (${special})`, String(id));
  }

  if (model.byte_fallback === true) {
    if (merges.length > 0) throw argError(op, arg('model.merges'), 'no merges for a character tokenizer (BPE with byte fallback and merges, SentencePiece style, is not supported)', `${merges.length} merges`);
    if (json.pre_tokenizer !== null && json.pre_tokenizer !== undefined) throw argError(op, arg('pre_tokenizer'), 'null for a character tokenizer', describe(json.pre_tokenizer));
    return parseChar(op, arg, entries, specials);
  }
  const pre = json.pre_tokenizer;
  if (!isObj(pre) || pre.type !== 'ByteLevel' || pre.add_prefix_space === true || pre.use_regex === false) {
    throw argError(op, arg('pre_tokenizer'), '{ type: "ByteLevel", add_prefix_space: false, use_regex: true }', describe(isObj(pre) ? JSON.stringify(pre) : pre));
  }
  const dec = json.decoder;
  if (!isObj(dec) || dec.type !== 'ByteLevel') throw argError(op, arg('decoder'), '{ type: "ByteLevel" }', describe(isObj(dec) ? JSON.stringify(dec) : dec));
  return parseByteLevel(op, arg, entries, merges, specials, model.ignore_merges === true, options.detectGpt2 ?? true);
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 31;
}

function parseChar(op: string, arg: (f: string) => string, entries: [string, unknown][], specials: Map<string, number>): CharTokenizer {
  const chars = new Map<number, number>();
  const byteIds = new Array<number>(256).fill(-1);
  for (const [token, id] of entries as [string, number][]) {
    if (specials.has(token)) continue;
    const byte = /^<0x([0-9A-F]{2})>$/.exec(token);
    if (byte !== null) {
      byteIds[Number.parseInt(byte[1], 16)] = id;
      continue;
    }
    const cp = token.codePointAt(0);
    if (cp === undefined || token.length !== (cp > 0xffff ? 2 : 1) || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw argError(op, arg(`model.vocab[${JSON.stringify(token)}]`), 'one character, a <0xNN> byte token or a special token', describe(token));
    }
    chars.set(cp, id);
  }
  const missing = byteIds.indexOf(-1);
  if (missing >= 0) throw argError(op, arg('model.vocab'), 'all 256 byte-fallback tokens <0x00>..<0xFF>', `no <0x${missing.toString(16).toUpperCase().padStart(2, '0')}>`);
  return new CharTokenizer({ chars, byteIds, specials });
}

function parseByteLevel(
  op: string,
  arg: (f: string) => string,
  entries: [string, unknown][],
  merges: unknown[],
  specials: Map<string, number>,
  ignoreMerges: boolean,
  detectGpt2: boolean,
): Tokenizer {
  const tokenBytes: (Uint8Array | null)[] = [];
  const ids = new Map<string, number>();
  for (const [token, id] of entries as [string, number][]) {
    ids.set(token, id);
    if (specials.has(token)) continue;
    const bytes = byteLevelToBytes(token);
    if (bytes === null || bytes.length === 0) throw argError(op, arg(`model.vocab[${JSON.stringify(token)}]`), 'a token in ByteLevel spelling (GPT-2 byte-to-unicode characters)', describe(token));
    while (tokenBytes.length <= id) tokenBytes.push(null);
    if (tokenBytes[id] !== null) throw argError(op, arg(`model.vocab[${JSON.stringify(token)}]`), 'an id no other token has', `${id}, already taken`);
    tokenBytes[id] = bytes;
  }
  const pairs: [number, number][] = merges.map((m, i) => {
    let a: unknown;
    let b: unknown;
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) throw argError(op, arg(`model.merges[${i}]`), '"a b" (two tokens and one space)', describe(m));
      [a, b] = parts;
    } else if (Array.isArray(m) && m.length === 2) {
      [a, b] = m;
    } else {
      throw argError(op, arg(`model.merges[${i}]`), 'a string "a b" or a pair ["a", "b"]', describe(m));
    }
    const ia = typeof a === 'string' ? ids.get(a) : undefined;
    const ib = typeof b === 'string' ? ids.get(b) : undefined;
    if (ia === undefined || ib === undefined || !ids.has(`${a}${b}`)) {
      throw argError(op, arg(`model.merges[${i}]`), 'a pair of vocab tokens whose concatenation is a vocab token', describe(JSON.stringify(m)));
    }
    return [ia, ib];
  });
  if (detectGpt2 && isGpt2(tokenBytes, specials, pairs)) return gpt2Tokenizer();
  return new BpeTokenizer({ kind: 'bpe', tokenBytes, specials, merges: pairs, ignoreMerges });
}

/** True when vocabulary, specials and merges are exactly GPT-2's (checked cheaply first). */
function isGpt2(tokenBytes: (Uint8Array | null)[], specials: Map<string, number>, merges: [number, number][]): boolean {
  if (tokenBytes.length !== 50256 || specials.size !== 1 || specials.get('<|endoftext|>') !== 50256 || merges.length !== 50000) return false;
  const g = gpt2Tokenizer();
  for (let id = 0; id < tokenBytes.length; id++) {
    const mine = tokenBytes[id];
    const theirs = g.tokenBytes(id);
    if (mine === null || theirs === null || mine.length !== theirs.length) return false;
    for (let i = 0; i < mine.length; i++) if (mine[i] !== theirs[i]) return false;
  }
  const gm = g.merges();
  for (let i = 0; i < merges.length; i++) if (gm[i][0] !== merges[i][0] || gm[i][1] !== merges[i][1]) return false;
  return true;
}
