/**
 * GPT-2's pre-tokenizer: the regex that cuts text into the pieces BPE merges within (contractions,
 * letter runs, digit runs, punctuation runs, whitespace). It is r50k's `pat_str` and HF ByteLevel's
 * regex. JS regex semantics (as js-tiktoken's): `\s` is JS whitespace, so U+FEFF counts as space and
 * U+0085 does not, where Python's `regex` and Rust's engines differ; other text splits identically.
 */

/** The GPT-2 / r50k pre-tokenizer pattern. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** A fresh global regex for GPT2_PATTERN (regexes carry lastIndex: one per user, never shared across calls in flight). */
export function gpt2Regex(): RegExp {
  return new RegExp(GPT2_PATTERN, 'gu');
}

/**
 * Calls `piece(p)` for each consecutive piece p of `text`, in order; the pieces concatenate to
 * `text`. The pattern matches at every position of any string, but a gap, should one ever occur, is
 * passed on as its own piece so no text is ever dropped.
 */
export function forEachPiece(re: RegExp, text: string, piece: (p: string) => void): void {
  re.lastIndex = 0;
  let pos = 0;
  for (;;) {
    const m = re.exec(text);
    if (m === null) break;
    const p = m[0];
    if (p.length === 0) {
      re.lastIndex++; // unreachable for this pattern (no empty matches); guards against a loop
      continue;
    }
    if (m.index > pos) piece(text.slice(pos, m.index));
    piece(p);
    pos = m.index + p.length;
  }
  if (pos < text.length) piece(text.slice(pos));
}
