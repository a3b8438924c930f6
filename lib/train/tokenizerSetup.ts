/**
 * The tokenizer of a run: built from the corpus for a new run (characters, a byte-level BPE trained to
 * the asked vocabulary size, or GPT-2's own BPE), and read back from the run's tokenizer.json on
 * resume, eval and generation.
 */
import { readCorpus } from '../data';
import type { Corpus } from '../data';
import { buildTokenizer as buildFromTexts, loadTokenizer } from '../tokenizer';
import type { Tokenizer } from '../tokenizer';

/** Which tokenizer a new run builds. */
export type TokenizerChoice = { kind: 'char' } | { kind: 'bpe'; vocabSize: number } | { kind: 'gpt2' };

/** Builds the tokenizer of a new run from its corpus (read into memory: training needs all of it). */
export async function buildTokenizer(choice: TokenizerChoice, corpus: Corpus, info: (line: string) => void): Promise<Tokenizer> {
  const texts: string[] = [];
  if (choice.kind !== 'gpt2') for await (const chunk of readCorpus(corpus)) texts.push(chunk.text);
  const t0 = performance.now();
  const tokenizer = buildFromTexts(choice.kind, texts, choice.kind === 'bpe' ? { vocabSize: choice.vocabSize } : {});
  if (choice.kind === 'bpe') info(`trained a byte-level BPE of ${tokenizer.vocabSize} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return tokenizer;
}

/** The tokenizer saved in a run directory. */
export function loadRunTokenizer(file: string): Tokenizer {
  return loadTokenizer(file);
}
