/**
 * GPT-2's byte-to-unicode map, which Hugging Face's ByteLevel pre-tokenizer and decoder use to
 * write byte strings as printable text in tokenizer.json: bytes that are printable Latin-1
 * characters stand for themselves, the other 68 are shifted to U+0100..U+0143 (space becomes 'Ġ').
 */

/** BYTE_TO_CHAR[b] is the character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The byte a ByteLevel character stands for. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildByteToChar(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + shifted++);
  return out;
}

/** The ByteLevel string of bytes[start, end). */
export function bytesToByteLevel(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** The bytes of a ByteLevel string, or null when it holds a character outside the map. */
export function byteLevelToBytes(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const b = CHAR_TO_BYTE.get(text[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}
