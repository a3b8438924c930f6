/**
 * A plain, slow reference for what Hugging Face `tokenizers` does with a tokenizer.json of the two
 * forms we write, written from HF's documented semantics and independent of lib/tokenizer: it works
 * on token strings (not ids or bytes), recomputes everything each time, and uses TextEncoder /
 * TextDecoder (UTF-8, U+FFFD on bad bytes) as HF's Rust strings do. Valid Unicode input only, and no
 * special-token strings in the input (HF splits those out first; tested separately).
 *
 * - ByteLevel BPE: GPT-2 regex pieces; each piece's UTF-8 bytes spelled with GPT-2's
 *   bytes_to_unicode; merges applied lowest rank first, leftmost on ties (ignore_merges: a piece
 *   in the vocab is that token); decode maps characters back to bytes.
 * - BPE with byte_fallback and no merges and no pre-tokenizer: each character its vocab entry, or
 *   `<0xNN>` per UTF-8 byte; decode: ByteFallback then Fuse.
 */

const PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

interface Json {
  added_tokens: { id: number; content: string }[];
  model: { vocab: Record<string, number>; merges: (string | [string, string])[]; byte_fallback: boolean; ignore_merges?: boolean };
}

/** GPT-2's bytes_to_unicode, as in its encoder.py. */
function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCharCode(cs[i])]));
}

const B2U = bytesToUnicode();
const U2B = new Map([...B2U].map(([b, u]) => [u, b]));

/** Token strings of `text` by the reference HF semantics. */
export function hfEncodeTokens(json: Json, text: string): string[] {
  const vocab = json.model.vocab;
  if (json.model.byte_fallback) {
    const out: string[] = [];
    for (const ch of text) {
      if (Object.prototype.hasOwnProperty.call(vocab, ch)) out.push(ch);
      else for (const b of new TextEncoder().encode(ch)) out.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    }
    return out;
  }
  const ranks = new Map<string, number>();
  json.model.merges.forEach((m, i) => {
    const key = typeof m === 'string' ? m : `${m[0]} ${m[1]}`;
    if (!ranks.has(key)) ranks.set(key, i);
  });
  const out: string[] = [];
  for (const piece of text.match(PATTERN) ?? []) {
    const word = [...new TextEncoder().encode(piece)].map((b) => B2U.get(b)!);
    if (json.model.ignore_merges && Object.prototype.hasOwnProperty.call(vocab, word.join(''))) {
      out.push(word.join(''));
      continue;
    }
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      word.splice(at, 2, word[at] + word[at + 1]);
    }
    out.push(...word);
  }
  return out;
}

/** Ids of `text` by the reference HF semantics. */
export function hfEncode(json: Json, text: string): number[] {
  return hfEncodeTokens(json, text).map((t) => {
    const id = json.model.vocab[t];
    if (id === undefined) throw new Error(`reference: token ${JSON.stringify(t)} not in vocab`);
    return id;
  });
}

/** Text of `ids` by the reference HF semantics (special tokens written as their content). */
export function hfDecode(json: Json, ids: ArrayLike<number>): string {
  const byId = new Map<number, string>();
  for (const [t, id] of Object.entries(json.model.vocab)) byId.set(id, t);
  for (const t of json.added_tokens) byId.set(t.id, t.content);
  const tokens = Array.from(ids, (id) => byId.get(id)!);
  const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  if (json.model.byte_fallback) {
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length === 0) return;
      try {
        out += new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
      } catch {
        out += '\uFFFD'.repeat(bytes.length); // HF ByteFallback: one U+FFFD per byte of an invalid run
      }
      bytes = [];
    };
    for (const t of tokens) {
      const m = /^<0x([0-9A-F]{2})>$/.exec(t);
      if (m) bytes.push(Number.parseInt(m[1], 16));
      else {
        flush();
        out += t;
      }
    }
    flush();
    return out;
  }
  const bytes: number[] = [];
  for (const t of tokens) {
    const mapped = [...t].map((c) => U2B.get(c));
    if (mapped.every((b) => b !== undefined)) bytes.push(...(mapped as number[]));
    else bytes.push(...new TextEncoder().encode(t));
  }
  return utf8.decode(Uint8Array.from(bytes));
}
