/**
 * The sample a GLM run shows at each evaluation: a window of validation text with a blank cut out of
 * its middle, filled by the model (the fill marked with ⟦ ⟧), so a user sees blank infilling improve
 * the way a GPT run's samples show continuation improve.
 */
import { infill } from '../generate/infill';
import type { Encoder } from '../models/encoder';
import type { TokenArray } from '../data';
import type { Tokenizer } from '../tokenizer';

/** Fills a blank of `blank` tokens cut from the middle of the `window` tokens that start at `start`. */
export async function glmEvalSample(model: Encoder, tokenizer: Tokenizer, tokens: TokenArray, start: number, seed: number,
  opts: { window?: number; blank?: number; maxTokens: number; autocast?: 'bf16' }): Promise<string> {
  const window = Math.min(opts.window ?? 48, model.config.blockSize - 4, tokens.length - start);
  const blank = Math.min(opts.blank ?? 6, Math.floor(window / 3));
  if (window < 3 || blank < 1 || opts.maxTokens < 1) return '';
  const cut = Math.floor((window - blank) / 2);
  const ids = Array.from(tokens.subarray(start, start + window));
  const before = tokenizer.decode(ids.slice(0, cut)), after = tokenizer.decode(ids.slice(cut + blank));
  // The marker splits the text; a window that happens to hold the marker's own text is left unsampled.
  if ((before + after).includes('[MASK]')) return '';
  const maxTokens = Math.min(opts.maxTokens, model.config.blockSize - window - 1);
  if (maxTokens < 1) return '';
  const r = await infill(model, tokenizer, `${before}[MASK]${after}`, { maxTokens, temperature: 0.8, seed, autocast: opts.autocast });
  return `${before}⟦${r.fills[0]}⟧${after}`;
}
