/**
 * Text generation from a GPT and its tokenizer: `generate` streams text pieces as an async
 * iterable, `generateText` resolves to the whole text, `generateBatch` runs several prompts in one
 * batch. Pieces are always valid text (never half of a multi-byte character) and concatenate to the
 * full text; stop strings are matched across token boundaries and never emitted. Every token costs
 * one awaited device read, so the event loop keeps running during a long generation.
 *
 * A prompt longer than the context is cut from the left to its last blockSize - 1 tokens (at least
 * one slot stays for the output), and `opts.onWarning` is told (default: process.emitWarning).
 */
import { argError, describe } from '../errors';
import { GPT } from '../models/gpt';
import type { Tokenizer } from '../tokenizer';
import { decodeRows, FinishReason, RowResult } from './decode';
import { GenerateOptions, resolveOptions, ResolvedOptions } from './options';

/** The outcome of one prompt of {@link generateBatch}. */
export interface GenerationResult {
  text: string;
  /** The generated token ids (without a final end-of-text token). */
  tokens: number[];
  finishReason: FinishReason;
}

function checkModel(op: string, model: unknown, tokenizer: unknown): void {
  if (!(model instanceof GPT)) throw argError(op, 'model', 'a GPT', describe(model));
  const t = tokenizer as Tokenizer;
  if (t === null || typeof t !== 'object' || typeof t.encode !== 'function' || typeof t.decode !== 'function')
    throw argError(op, 'tokenizer', 'a Tokenizer (encode, decode)', describe(tokenizer));
  if (t.vocabSize > model.config.vocabSize)
    throw argError(op, 'tokenizer', `a tokenizer of at most the model's ${model.config.vocabSize} ids`, `one of ${t.vocabSize}`);
}

/** The prompt's ids, cut to the context (see the file comment). */
function promptIds(op: string, model: GPT, tokenizer: Tokenizer, prompt: unknown, name: string, o: ResolvedOptions): number[] {
  if (typeof prompt !== 'string') throw argError(op, name, 'a non-empty string', describe(prompt));
  if (prompt.length === 0) throw argError(op, name, 'a non-empty string', 'an empty string');
  const ids = Array.from(tokenizer.encode(prompt));
  const room = model.config.blockSize - 1;
  if (room < 1) throw argError(op, 'model', 'a model whose blockSize is at least 2', `blockSize ${model.config.blockSize}`);
  if (ids.length <= room) return ids;
  o.onWarning(`${op}: ${name} has ${ids.length} tokens, more than the context leaves (blockSize ${model.config.blockSize} - 1 = ${room}); keeping its last ${room} tokens`);
  return ids.slice(ids.length - room);
}

/**
 * Streams the continuation of `prompt` as text pieces. Arguments are checked at once (an error is
 * thrown here, not on iteration); aborting `opts.signal` makes the iteration reject with its reason.
 */
export function generate(model: GPT, tokenizer: Tokenizer, prompt: string, opts: GenerateOptions = {}): AsyncIterable<string> {
  const op = 'generate';
  checkModel(op, model, tokenizer);
  const o = resolveOptions(op, opts, model.config.vocabSize);
  const ids = promptIds(op, model, tokenizer, prompt, 'prompt', o);
  return (async function* () {
    for await (const piece of decodeRows(model, tokenizer, [ids], o)) yield piece.text;
  })();
}

/** The whole continuation of `prompt` (what generate's pieces concatenate to). */
export async function generateText(model: GPT, tokenizer: Tokenizer, prompt: string, opts: GenerateOptions = {}): Promise<string> {
  let text = '';
  for await (const piece of generate(model, tokenizer, prompt, opts)) text += piece;
  return text;
}

/**
 * Continuations of several prompts generated together in one batch (different lengths are fine).
 * Each row draws from the same seed as it would alone, so row i equals generateText(prompts[i]).
 * The options, `logitBias` included, apply to every row alike (for different options per row, make
 * one call per group). `onPiece(i, text)` receives the pieces as they come.
 */
export async function generateBatch(model: GPT, tokenizer: Tokenizer, prompts: readonly string[], opts: GenerateOptions = {},
  onPiece?: (row: number, text: string) => void): Promise<GenerationResult[]> {
  const op = 'generateBatch';
  checkModel(op, model, tokenizer);
  if (!Array.isArray(prompts) || prompts.length === 0) throw argError(op, 'prompts', 'a non-empty array of strings', describe(prompts));
  if (onPiece !== undefined && typeof onPiece !== 'function') throw argError(op, 'onPiece', 'a function', describe(onPiece));
  const o = resolveOptions(op, opts, model.config.vocabSize);
  const ids = prompts.map((p, i) => promptIds(op, model, tokenizer, p, `prompts[${i}]`, o));
  const texts = prompts.map(() => '');
  const rows = decodeRows(model, tokenizer, ids, o);
  let r = await rows.next();
  while (!r.done) {
    texts[r.value.row] += r.value.text;
    onPiece?.(r.value.row, r.value.text);
    r = await rows.next();
  }
  return (r.value as RowResult[]).map((res, i) => ({ text: texts[i], tokens: res.tokens, finishReason: res.finishReason }));
}
