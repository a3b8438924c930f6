/**
 * The special-token ids the encoder objectives need from a tokenizer, with an error naming what is
 * missing (GPT-2's tokenizer, for one, has only <|endoftext|>): BERT's [CLS] [SEP] [MASK] [PAD], and
 * GLM's [MASK] with a span's start (<|bos|>) and end (<|endoftext|>) tokens.
 */
import { GlmError } from '../../errors';
import type { SpecialName } from '../../tokenizer/specials';
import { SPECIAL_TOKENS } from '../../tokenizer/specials';
import type { Tokenizer } from '../../tokenizer';
import type { GlmSpecials } from './glm';
import type { EncoderSpecials } from './mlmNsp';

function need(tokenizer: Tokenizer, names: readonly SpecialName[], what: string): Record<string, number> {
  const out: Record<string, number> = {};
  const missing: string[] = [];
  for (const n of names) {
    const id = tokenizer.specialId(n);
    // bos falls back to eos in a tokenizer without its own: a span start must be a token of its own.
    if (id === undefined || (n === 'bos' && !tokenizer.specialTokens.has(SPECIAL_TOKENS.bos))) missing.push(SPECIAL_TOKENS[n]);
    else out[n] = id;
  }
  if (missing.length)
    throw new GlmError('train', `${what} needs the special tokens ${missing.join(' ')}, which this tokenizer (${tokenizer.kind}) lacks; use --tokenizer char or bpe, which reserve them`);
  return out;
}

/** [CLS] [SEP] [MASK] [PAD] and every special id of the tokenizer. */
export function encoderSpecials(tokenizer: Tokenizer): EncoderSpecials {
  const s = need(tokenizer, ['cls', 'sep', 'mask', 'pad'], 'an MLM + NSP encoder');
  return { cls: s.cls, sep: s.sep, mask: s.mask, pad: s.pad, all: [...new Set(tokenizer.specialTokens.values())] };
}

/** GLM's [MASK], span start (<|bos|>) and span end (<|endoftext|>). */
export function glmSpecials(tokenizer: Tokenizer): GlmSpecials {
  const s = need(tokenizer, ['mask', 'bos', 'eos'], 'GLM blank infilling');
  return { mask: s.mask, start: s.bos, end: s.eos };
}
