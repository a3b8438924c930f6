/** The corpus a tokenizer is built from: one string, or an iterable of strings (files, lines). */
import { argError, describe } from '../errors';

/** Training corpus: one string, or an iterable of strings, each pre-tokenized on its own. */
export type Corpus = string | Iterable<string>;

/** Calls fn for each string of the corpus; throws our error for anything else. */
export function forEachText(op: string, corpus: unknown, fn: (text: string) => void): void {
  if (typeof corpus === 'string') {
    fn(corpus);
    return;
  }
  if (corpus === null || typeof corpus !== 'object' || typeof (corpus as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw argError(op, 'corpus', 'a string or an iterable of strings', describe(corpus));
  }
  let i = 0;
  for (const text of corpus as Iterable<unknown>) {
    if (typeof text !== 'string') throw argError(op, `corpus[${i}]`, 'a string', describe(text));
    fn(text);
    i++;
  }
}
