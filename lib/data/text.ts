/**
 * What counts as text, decided in one place: the corpus resolver uses it on the first bytes of every
 * file, and the streaming reader on every chunk, so a file that turns binary half-way still fails.
 *
 * The rule: UTF-8 text has no NUL byte, and at most 1% of its bytes start an invalid UTF-8 sequence
 * (a stray Latin-1 "é" in an English file is tolerated and decoded as U+FFFD; a Latin-1 French
 * file, UTF-16, or an image is not). Legitimate U+FFFD characters count as invalid too: a text with
 * that many of them is already damaged.
 */

/** Largest fraction of bytes that may start an invalid UTF-8 sequence in a text file. */
export const MAX_INVALID_UTF8_FRACTION = 0.01;

/** Counts U+FFFD replacement characters in decoded text. */
export function countReplacements(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) n++;
  return n;
}

/**
 * Why these bytes are not UTF-8 text, or null when they are. `decoded` is their decoding with
 * U+FFFD replacement (a streaming decoder holds back a sequence cut by the chunk end, so it is not
 * counted); `offset` is where the bytes start in their file, for the message.
 */
export function binaryReason(bytes: Uint8Array, decoded: string, offset = 0): string | null {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const utf16 = offset === 0 && bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
    return `it contains a NUL byte at byte ${offset + nul}` + (utf16 ? ' (it looks like UTF-16: convert it to UTF-8)' : ' (binary data?)');
  }
  const invalid = countReplacements(decoded);
  if (invalid > 0 && invalid > MAX_INVALID_UTF8_FRACTION * bytes.length)
    return (
      `it is not UTF-8 text: ${invalid} invalid UTF-8 sequence${invalid === 1 ? '' : 's'} in bytes ${offset}..${offset + bytes.length} ` +
      `(over ${MAX_INVALID_UTF8_FRACTION * 100}%; convert it to UTF-8, e.g. iconv -f latin1 -t utf-8)`
    );
  return null;
}

const LETTER = /\p{L}/u;

/**
 * The last index i >= from (and >= 1) where text can be cut so that tokenizing the two
 * halves separately gives the same ids as tokenizing the whole, or -1 if there is none.
 *
 * The cut goes between a letter and a single space that is followed by a letter ("the| cat"): the
 * space then starts the next word. Every regex pre-tokenizer in use (GPT-2's, cl100k's, o200k's)
 * ends a pre-token after a letter run and starts one at " cat", and a char tokenizer has no context,
 * so the halves encode exactly as the whole would. (A newline is not a safe point: cl100k glues
 * ".\n" into one pre-token, and GPT-2 treats a trailing "\n\n" differently from an inner one.)
 */
export function lastSafeCut(text: string, from = 0): number {
  const lowest = Math.max(from, 1);
  for (let i = text.lastIndexOf(' ', text.length - 2); i >= lowest; i = text.lastIndexOf(' ', i - 1)) {
    if (LETTER.test(text[i - 1]) && LETTER.test(text[i + 1])) return i;
  }
  return -1;
}

/** A hard cut at or before `at` that does not split a surrogate pair. */
export function hardCut(text: string, at: number): number {
  const c = text.charCodeAt(at - 1);
  return c >= 0xd800 && c <= 0xdbff ? at - 1 : at;
}
