/**
 * Text out of a stream of token ids, piece by piece, such that every piece is valid text and the
 * pieces concatenate to decode(all ids). Tokens may end inside a multi-byte UTF-8 / WTF-8 sequence
 * (byte-level BPE, byte-fallback ids): decoding such a prefix gives U+FFFD for the incomplete tail,
 * so the decoder holds back a trailing run of U+FFFD (at most two: the most an incomplete sequence
 * decodes to, "ED A0" of a surrogate) and a trailing high surrogate (its low half may follow), and
 * re-decodes from the last clean boundary when more ids come.
 */
import type { Tokenizer } from '../tokenizer';

const REPLACEMENT = 0xfffd;

/** Incremental, boundary-safe decoding of one sequence of ids. */
export class IncrementalDecoder {
  /** Ids since the last clean boundary (where the text decoded so far ended with a complete character). */
  private pending: number[] = [];
  /** Code units of decode(pending) already handed out. */
  private emitted = 0;

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Adds one id; returns the text that is now certain (maybe ''). */
  push(id: number): string {
    this.pending.push(id);
    const text = this.tokenizer.decode(this.pending);
    let cut = text.length;
    let held = 0;
    while (held < 2 && cut > this.emitted && text.charCodeAt(cut - 1) === REPLACEMENT) {
      cut--;
      held++;
    }
    if (held === 0 && cut > this.emitted) {
      const c = text.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--;
    }
    const piece = text.slice(this.emitted, cut);
    if (cut === text.length) {
      this.pending = [];
      this.emitted = 0;
    } else this.emitted = cut;
    return piece;
  }

  /** The rest of the text (what was held back), at the end of the sequence. */
  flush(): string {
    const text = this.pending.length ? this.tokenizer.decode(this.pending) : '';
    const piece = text.slice(this.emitted);
    this.pending = [];
    this.emitted = 0;
    return piece;
  }
}

/**
 * Finds stop strings in text that arrives in pieces: a stop string may span pieces, so text that
 * could be the start of one is held back until it is known not to be. What `push` returns is safe
 * to emit; once a stop string is seen, `stopped` is true and nothing after it is returned.
 */
export class StopMatcher {
  private held = '';
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds text; returns what can be emitted now. */
  push(text: string): string {
    if (this.stopped) return '';
    const buf = this.held + text;
    let at = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.stopped = true;
      this.held = '';
      return buf.slice(0, at);
    }
    // Hold the longest tail of buf that is a proper prefix of some stop string.
    let keep = 0;
    for (const s of this.stops)
      for (let k = Math.min(s.length - 1, buf.length); k > keep; k--)
        if (buf.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
    // Never split a surrogate pair between what is emitted and what is held.
    let cut = buf.length - keep;
    if (cut > 0 && cut < buf.length) {
      const c = buf.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--;
    }
    this.held = buf.slice(cut);
    return buf.slice(0, cut);
  }

  /** What is still held, at the end (when no stop string came). */
  flush(): string {
    const rest = this.stopped ? '' : this.held;
    this.held = '';
    return rest;
  }
}
