/**
 * GPT-2's own BPE (r50k_base, 50 257 ids, `<|endoftext|>` = 50256), built by our BPE code from the
 * rank table that the js-tiktoken package ships (`js-tiktoken/ranks/r50k_base`); js-tiktoken's
 * encoder itself is not used.
 *
 * tiktoken's rule differs from a merges list in two ways, both kept so our ids equal tiktoken's:
 * any adjacent pair whose concatenated bytes are a token merges, at that token's rank (so the
 * table holds every split of every token into two tokens), and a piece that is itself a token is
 * that token at once (`ignoreMerges`). For tokenizer.json the merges list is recovered the
 * standard way: token t of rank r is what BPE with ranks below r leaves as two parts (a, b).
 */
import { GlmError } from '../errors';
import { BpeTokenizer, latin1 } from './bpe';
import { MergeTable } from './mergeTable';
import { GPT2_PATTERN } from './pretokenize';

/** A tiktoken rank file as js-tiktoken ships it. */
export interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  /** Lines "<ignored> <first rank> <base64 token> <base64 token> ...". */
  bpe_ranks: string;
  explicit_n_vocab?: number;
}

let gpt2: BpeTokenizer | undefined;

/**
 * The r50k_base rank table that js-tiktoken ships. Loaded lazily: it is 1 MB of JS that most
 * programs never need. (Through require: the package's subpath exports are invisible to our
 * tsconfig's "node" module resolution.)
 */
export function r50kRanks(): TiktokenRanks {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ranks = require('js-tiktoken/ranks/r50k_base') as TiktokenRanks | { default: TiktokenRanks };
  return 'default' in ranks ? ranks.default : ranks;
}

/** GPT-2's tokenizer (r50k_base). Built on first use (~0.4 s) and shared: tokenizers are immutable. */
export function gpt2Tokenizer(): BpeTokenizer {
  if (gpt2 === undefined) gpt2 = bpeFromTiktokenRanks(r50kRanks(), 'gpt2');
  return gpt2;
}

/** A byte-level BPE from a tiktoken rank table whose pre-tokenizer is GPT-2's (r50k_base, p50k_base). */
export function bpeFromTiktokenRanks(ranks: TiktokenRanks, kind: 'bpe' | 'gpt2' = 'bpe'): BpeTokenizer {
  const op = 'bpeFromTiktokenRanks';
  if (ranks.pat_str !== GPT2_PATTERN) {
    throw new GlmError(op, `argument 'ranks': expected GPT-2's pre-tokenizer pattern, got ${JSON.stringify(ranks.pat_str.slice(0, 60))}`);
  }
  const tokenBytes: (Uint8Array | null)[] = [];
  const keys: string[] = [];
  const idByKey = new Map<string, number>();
  for (const line of ranks.bpe_ranks.split('\n')) {
    if (line.length === 0) continue;
    const fields = line.split(' ');
    const first = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++) {
      const rank = first + i - 2;
      const b = Buffer.from(fields[i], 'base64');
      const bytes = new Uint8Array(b.buffer, b.byteOffset, b.length);
      while (tokenBytes.length < rank) tokenBytes.push(null);
      tokenBytes[rank] = bytes;
      const key = latin1(bytes, 0, bytes.length);
      keys[rank] = key;
      idByKey.set(key, rank);
    }
  }
  const table = new MergeTable(6 * tokenBytes.length);
  for (let r = 0; r < keys.length; r++) {
    const key = keys[r];
    if (key === undefined || key.length < 2) continue;
    for (let k = 1; k < key.length; k++) {
      const a = idByKey.get(key.slice(0, k));
      if (a === undefined) continue;
      const b = idByKey.get(key.slice(k));
      if (b !== undefined) table.set(a, b, r, r);
    }
  }
  const specials = new Map(Object.entries(ranks.special_tokens));
  const getMerges = () => recoverMerges(op, tokenBytes, idByKey, table);
  return new BpeTokenizer({ kind, tokenBytes, specials, table, getMerges, ignoreMerges: true });
}

/** The merges list of a rank table, in rank order (see the file comment). */
function recoverMerges(
  op: string,
  tokenBytes: readonly (Uint8Array | null)[],
  idByKey: ReadonlyMap<string, number>,
  table: MergeTable,
): [number, number][] {
  const merges: [number, number][] = [];
  for (let r = 0; r < tokenBytes.length; r++) {
    const bytes = tokenBytes[r];
    if (bytes === null || bytes.length < 2) continue;
    const parts: number[] = Array.from(bytes, (b) => idByKey.get(String.fromCharCode(b))!);
    for (;;) {
      let best = r;
      let at = -1;
      let pair = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const p = table.find(parts[i], parts[i + 1]);
        if (p >= 0 && table.rank(p) < best) {
          best = table.rank(p);
          at = i;
          pair = p;
        }
      }
      if (at < 0) break;
      parts.splice(at, 2, table.merged(pair));
    }
    if (parts.length !== 2) throw new GlmError(op, `token ${r} is not reached by merging two lower-ranked tokens (${parts.length} parts left)`);
    merges.push([parts[0], parts[1]]);
  }
  return merges;
}
