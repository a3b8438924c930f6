/**
 * A short text sample from a model during training (the eval line's "what does it write now"). It is
 * plain autoregressive decoding with temperature over the last block of context, recomputing the whole
 * window each token: cheap enough for a few hundred tokens of a small model. Generation proper (KV
 * cache, top-k/top-p, streaming) is lib/generate's job.
 */
import { noGrad } from '../autograd';
import { Random } from '../random';
import { scope } from '../scope';
import { Tensor } from '../tensor';
import type { GPT } from '../models/gpt';

/** Samples `count` token ids after `prompt` with softmax(logits / temperature), seeded. */
export async function sampleTokens(model: GPT, prompt: number[], count: number, opts: { temperature?: number; seed: number; device: string }): Promise<number[]> {
  const temperature = opts.temperature ?? 0.8;
  const rng = new Random(opts.seed);
  const ids = prompt.slice();
  const block = model.config.blockSize;
  for (let i = 0; i < count; i++) {
    const window = ids.slice(-block);
    const logits = await scope(() =>
      noGrad(() => model.logitsLast(Tensor.from(Int32Array.from(window), [1, window.length], { dtype: 'i32', device: opts.device }))).toArray(),
    );
    ids.push(pick(logits, temperature, rng));
  }
  return ids.slice(prompt.length);
}

/** Draws an index from softmax(logits / temperature) (argmax when temperature is 0). */
export function pick(logits: ArrayLike<number>, temperature: number, rng: Random): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (temperature === 0) return best;
  const max = logits[best];
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += weights[i] = Math.exp((logits[i] - max) / temperature);
  let u = rng.uniform() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return best;
}
