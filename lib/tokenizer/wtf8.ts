/**
 * WTF-8: JS strings to bytes and back, losslessly.
 *
 * A JS string is any sequence of UTF-16 code units, so it may hold lone surrogates that UTF-8 (and
 * TextEncoder, which writes U+FFFD for them) cannot represent. WTF-8 is UTF-8 extended to encode a
 * lone surrogate as the three bytes ED A0..BF 80..BF that its code point would take; a paired
 * surrogate is one supplementary code point, four bytes, as in UTF-8. On strings without lone
 * surrogates WTF-8 is exactly UTF-8, which is what keeps our ids equal to GPT-2's and HF's.
 * Decoding accepts what encoding writes and turns any other invalid byte into U+FFFD, one per
 * maximal invalid subpart, as TextDecoder does.
 */

// ignoreBOM keeps a leading U+FEFF in the output: the default would drop it and break round trips.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Writes the WTF-8 bytes of text[start, end) into `out` from index 0 and returns the byte count.
 * `out` must hold at least 3 * (end - start) bytes (no code unit takes more than three).
 */
export function wtf8EncodeInto(text: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 0x3f);
          out[n++] = 0x80 | ((c >> 6) & 0x3f);
          out[n++] = 0x80 | (c & 0x3f);
          continue;
        }
      }
      // BMP characters and lone surrogates alike take three bytes.
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

/** The WTF-8 bytes of `text`. */
export function wtf8Encode(text: string): Uint8Array {
  const buf = new Uint8Array(3 * text.length);
  return buf.slice(0, wtf8EncodeInto(text, 0, text.length, buf));
}

/** True when bytes[i..i+2] is the WTF-8 encoding of a surrogate code point. */
function isSurrogateAt(bytes: Uint8Array, i: number, end: number): boolean {
  return i + 2 < end && bytes[i] === 0xed && bytes[i + 1] >= 0xa0 && bytes[i + 1] <= 0xbf && (bytes[i + 2] & 0xc0) === 0x80;
}

/** The string of WTF-8 bytes[0, length). */
export function wtf8Decode(bytes: Uint8Array, length = bytes.length): string {
  // Surrogates are rare; find the first before doing any work beyond TextDecoder's.
  let i = bytes.indexOf(0xed);
  while (i !== -1 && i < length && !isSurrogateAt(bytes, i, length)) i = bytes.indexOf(0xed, i + 1);
  if (i === -1 || i >= length) return utf8Decoder.decode(bytes.subarray(0, length));
  let out = '';
  let from = 0;
  for (; i < length; i++) {
    if (bytes[i] !== 0xed || !isSurrogateAt(bytes, i, length)) continue;
    if (i > from) out += utf8Decoder.decode(bytes.subarray(from, i));
    out += String.fromCharCode(0xd000 | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f));
    i += 2;
    from = i + 1;
  }
  if (from < length) out += utf8Decoder.decode(bytes.subarray(from, length));
  return out;
}
