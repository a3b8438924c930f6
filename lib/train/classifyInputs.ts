/**
 * Texts to classifier inputs: each body reads a text the way it was pretrained to — a BERT encoder
 * as [CLS] text [SEP] (pooled at [CLS]); a GLM encoder as text [MASK] (pooled at the [MASK], a blank
 * to fill); a GPT as text <|endoftext|> (pooled at that last token, which has seen everything).
 * A text longer than the context is an error naming it, unless truncation is asked for (the head
 * of the text is kept: for e-mail, the headers and the start of the body).
 */
import type { LabeledText } from '../data/classify';
import { GlmError } from '../errors';
import type { ClassifierBody } from '../models/classifier';
import { Encoder } from '../models/encoder';
import type { Tokenizer } from '../tokenizer';
import { SPECIAL_TOKENS } from '../tokenizer/specials';

/** One encoded example. */
export interface EncodedText {
  ids: Int32Array;
  /** The class id (index into the task's labels). */
  label: number;
  /** The text had more tokens than fit and was cut. */
  truncated: boolean;
}

/** How a body frames a text: ids before and after it. */
export function framing(body: ClassifierBody, tokenizer: Tokenizer): { before: number[]; after: number[] } {
  const id = (name: 'cls' | 'sep' | 'mask' | 'eos') => {
    const v = tokenizer.specialId(name);
    if (v === undefined) throw new GlmError('finetune', `the run's tokenizer has no ${SPECIAL_TOKENS[name]} token, which a classifier on this model needs`);
    return v;
  };
  if (body instanceof Encoder) return body.config.arch === 'bert' ? { before: [id('cls')], after: [id('sep')] } : { before: [], after: [id('mask')] };
  return { before: [], after: [id('eos')] };
}

/** Options of {@link encodeExamples}. */
export interface EncodeOptions {
  /** The longest input in tokens, framing included (at most the model's block size). */
  maxLength: number;
  /** Cut texts that do not fit (keeping their start) instead of failing. */
  truncate: boolean;
  /** For messages: where the examples came from (a file name, or the data set's name). */
  source: string;
}

/** Encodes `examples` for `body` with class ids from `labels`. */
export function encodeExamples(examples: readonly LabeledText[], labels: readonly string[], body: ClassifierBody, tokenizer: Tokenizer, opts: EncodeOptions): EncodedText[] {
  const { before, after } = framing(body, tokenizer);
  const room = opts.maxLength - before.length - after.length;
  if (room < 1) throw new GlmError('finetune', `--max-length ${opts.maxLength} leaves no room for text (the framing takes ${before.length + after.length} tokens)`);
  const index = new Map(labels.map((l, i) => [l, i]));
  return examples.map((e) => {
    const label = index.get(e.label);
    if (label === undefined)
      throw new GlmError('finetune', `unknown label '${e.label}' ${where(e, opts.source)}; the model knows: ${labels.join(', ')}`);
    const text = tokenizer.encode(e.text);
    if (text.length > room && !opts.truncate)
      throw new GlmError('finetune', `the text ${where(e, opts.source)} has ${text.length} tokens, more than the ${room} that fit the context ` +
        `(${opts.maxLength} with ${before.length + after.length} framing tokens); pass --truncate to keep the first ${room}`);
    const kept = text.length > room ? text.slice(0, room) : text;
    return { ids: Int32Array.from([...before, ...kept, ...after]), label, truncated: kept.length < text.length };
  });
}

function where(e: LabeledText, source: string): string {
  return e.line !== undefined ? `at line ${e.line} of ${source}` : `of example ${e.id} of ${source}`;
}

/** Right-pads the encoded rows to their longest, with `padId`: ids [B·T], T and each row's length. */
export function padRows(rows: readonly Int32Array[], padId: number): { ids: Int32Array; T: number; lengths: number[] } {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(padId);
  rows.forEach((r, b) => ids.set(r, b * T));
  return { ids, T, lengths: rows.map((r) => r.length) };
}
