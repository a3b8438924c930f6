/** One entry point for the CLI's `--tokenizer char|bpe|gpt2 --vocab-size N`. */
import { argError, describe } from '../errors';
import { CharTokenizer } from './char';
import type { Corpus } from './corpus';
import { gpt2Tokenizer } from './gpt2';
import type { SpecialName } from './specials';
import { trainBpe } from './train';
import type { Tokenizer, TokenizerKind } from './types';

/** Options of `buildTokenizer`. */
export interface BuildTokenizerOptions {
  /** bpe: the target vocabulary (required); char: an optional cap; gpt2: must be absent or 50257. */
  vocabSize?: number;
  /** Special tokens to reserve (char and bpe); default all. */
  specials?: readonly SpecialName[];
  /** bpe: progress of training, (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Builds a tokenizer of `kind` on `corpus`: 'char' (CharTokenizer.fromCorpus), 'bpe' (trainBpe to
 * options.vocabSize) or 'gpt2' (GPT-2's r50k; the corpus is not used).
 */
export function buildTokenizer(kind: TokenizerKind, corpus: Corpus, options: BuildTokenizerOptions = {}): Tokenizer {
  const op = 'buildTokenizer';
  if (options === null || typeof options !== 'object') throw argError(op, 'options', 'an object', describe(options));
  switch (kind) {
    case 'char':
      return CharTokenizer.fromCorpus(corpus, { vocabSize: options.vocabSize, specials: options.specials });
    case 'bpe':
      if (options.vocabSize === undefined) throw argError(op, 'options.vocabSize', 'an integer for a bpe tokenizer', 'undefined');
      return trainBpe(corpus, { vocabSize: options.vocabSize, specials: options.specials, onProgress: options.onProgress });
    case 'gpt2':
      if (options.vocabSize !== undefined && options.vocabSize !== 50257) throw argError(op, 'options.vocabSize', '50257 (or nothing) for gpt2', describe(options.vocabSize));
      return gpt2Tokenizer();
    default:
      throw argError(op, 'kind', "'char', 'bpe' or 'gpt2'", describe(kind));
  }
}
