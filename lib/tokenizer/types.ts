/**
 * The interface every tokenizer implements, and the shape of the Hugging Face tokenizer.json we
 * read and write.
 */
import type { SpecialName } from './specials';

/** Which family a tokenizer belongs to: character-level, a byte-level BPE we trained or loaded, or GPT-2's own. */
export type TokenizerKind = 'char' | 'bpe' | 'gpt2';

/** Options of `Tokenizer.encode`. */
export interface EncodeOptions {
  /**
   * 'none' (the default): the text is plain text and special-token strings in it are encoded as
   * ordinary characters. 'all': every special-token string in the text becomes its special id.
   */
  specials?: 'none' | 'all';
}

/** Options of `Tokenizer.toHuggingFaceJSON`. */
export interface HuggingFaceJSONOptions {
  /** How BPE merges are written: "a b" strings (the default; every HF version reads them) or ["a", "b"] pairs. */
  merges?: 'strings' | 'pairs';
}

/**
 * A tokenizer: text to token ids and back.
 *
 * `encode` returns a Uint32Array (compact, and what an i32 token tensor is built from without a
 * copy of boxed numbers). For every JS string s, `decode(encode(s)) === s` exactly, lone
 * surrogates included: text is turned into bytes as WTF-8 (UTF-8 that also encodes a lone
 * surrogate U+D800..U+DFFF as its three-byte sequence) and back.
 */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids: every id is in [0, vocabSize). */
  readonly vocabSize: number;
  /** The special tokens: string -> id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** The id of special token `name`, or undefined when this tokenizer has none. */
  specialId(name: SpecialName): number | undefined;
  /** Token ids of `text`. */
  encode(text: string, options?: EncodeOptions): Uint32Array;
  /** The text of `ids`; special tokens are written as their strings. */
  decode(ids: ArrayLike<number>): string;
  /** The tokenizer as a Hugging Face tokenizer.json object (JSON.stringify it to save). */
  toHuggingFaceJSON(options?: HuggingFaceJSONOptions): HfTokenizerJson;
  /** Writes tokenizer.json to `path` atomically. */
  save(path: string, options?: HuggingFaceJSONOptions): void;
}

/** One entry of tokenizer.json's `added_tokens`. */
export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The BPE model of a tokenizer.json. */
export interface HfBpeModel {
  type: 'BPE';
  dropout: number | null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  merges: string[] | [string, string][];
}

/** A Hugging Face tokenizer.json (the parts we write; reading accepts more). */
export interface HfTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: null;
  decoder: Record<string, unknown> | null;
  model: HfBpeModel;
}
