/**
 * The one place generation draws tokens: logits [B, V] → one id per row. It uses the native
 * sampling op (lib/ops/sample.ts, `sampleTokens`), and a plain TypeScript stand-in with the same
 * parameters (logit bias, penalties, temperature, top-k, top-p, min-p) only when the loaded addon predates
 * that kernel.
 * Each row is drawn on its own, from (its seed, its offset), so a row's tokens never depend on the
 * other rows of its batch: generating prompts together gives what generating each alone gives.
 * Either way the ids come back through an awaited device read, so the event loop keeps running.
 */
import { GlmError } from '../errors';
import { native } from '../native';
import { fmix32, Random } from '../random';
import { sampleTokens } from '../ops/sample';
import { Tensor } from '../tensor';
import type { SamplingParams } from './options';
import { usesHistory } from './options';

type SampleTokensFn = typeof sampleTokens;

let nativeSample: SampleTokensFn | null | undefined;

/** The native sampling op, or null when the loaded addon was built without its kernel. */
export function nativeSampler(): SampleTokensFn | null {
  if (nativeSample === undefined)
    nativeSample = typeof (native() as unknown as Record<string, unknown>).sampleTokens === 'function' ? sampleTokens : null;
  return nativeSample;
}

/**
 * Draws one token per row of `logits` [B, V] (f32 or bf16): row b with seeds[b] and offsets[b]
 * (the index of the token being drawn), penalising histories[b] (the ids so far) when a penalty is
 * on, after adding `logitBias` (f32 [V] on the logits' device, the same for every row; -Infinity
 * bans) when given. Resolves to the ids.
 */
export async function pickTokens(logits: Tensor, params: SamplingParams, histories: readonly (readonly number[])[] | null,
  seeds: readonly number[], offsets: readonly number[], logitBias: Tensor | null = null): Promise<Int32Array> {
  const [B, V] = logits.shape;
  const sample = nativeSampler();
  const hist = usesHistory(params) ? histories : null;
  if (sample) {
    const nat = native();
    // Only the sampling parameters: `params` may be a wider object (generate's resolved options).
    const { temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty } = params;
    const knobs = { temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty };
    const outs: Tensor[] = [];
    try {
      for (let b = 0; b < B; b++) {
        const row = new Tensor(nat.view(logits.handle, [1, V], b * V));
        const h = hist && hist[b].length ? Tensor.from(Int32Array.from(hist[b]), [1, hist[b].length], { dtype: 'i32', device: logits.device }) : undefined;
        // Row by row: the op's draw depends on the row index, and a row must not depend on its batch.
        outs.push(sample(row, { ...knobs, ...(h ? { history: h } : {}), ...(logitBias ? { logitBias } : {}), seed: seeds[b], offset: offsets[b] }));
        row.dispose();
        h?.dispose();
      }
      const ids = await Promise.all(outs.map((t) => t.toArray()));
      return Int32Array.from(ids, (a) => a[0]);
    } finally {
      for (const t of outs) t.dispose();
    }
  }
  const values = await logits.toArray();
  const bias = logitBias ? await logitBias.toArray() : null;
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) out[b] = pickRow(values.subarray(b * V, (b + 1) * V), params, hist ? hist[b] : null, seeds[b], offsets[b], bias);
  return out;
}

/** The TypeScript stand-in for one row (float64 arithmetic); `bias` [V] is added first (-Infinity bans). */
export function pickRow(logits: ArrayLike<number>, p: SamplingParams, history: readonly number[] | null, seed: number, offset: number,
  bias: ArrayLike<number> | null = null): number {
  const V = logits.length;
  const z = Float64Array.from(logits);
  for (let i = 0; i < V; i++) if (Number.isNaN(z[i])) throw new GlmError('pickTokens', `the logits hold NaN (at index ${i})`);
  if (bias) for (let i = 0; i < V; i++) z[i] += bias[i];
  if (history) {
    const counts = new Map<number, number>();
    for (const id of history) if (id >= 0 && id < V) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, n] of counts) {
      let x = z[id];
      if (p.repetitionPenalty !== 1) x = x > 0 ? x / p.repetitionPenalty : x * p.repetitionPenalty;
      z[id] = x - p.frequencyPenalty * n - p.presencePenalty;
    }
  }
  let best = 0;
  for (let i = 1; i < V; i++) if (z[i] > z[best]) best = i;
  if (p.temperature === 0) return best;
  // Candidates by descending logit (ties to the lower id), cut by top-k, then top-p, then min-p.
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
  if (p.topK > 0 && p.topK < V) order = order.slice(0, p.topK);
  const max = z[order[0]];
  const w = order.map((i) => Math.exp((z[i] - max) / p.temperature));
  let total = w.reduce((a, b) => a + b, 0);
  let n = order.length;
  if (p.topP < 1) {
    let acc = 0;
    for (let j = 0; j < n; j++) {
      acc += w[j] / total;
      if (acc >= p.topP) {
        n = j + 1;
        break;
      }
    }
  }
  if (p.minP > 0) {
    const floor = p.minP * w[0];
    let m = 1;
    while (m < n && w[m] >= floor) m++;
    n = m;
  }
  // Banned tokens (weight 0) are last in the order: never the fallback below.
  while (n > 1 && w[n - 1] === 0) n--;
  total = 0;
  for (let j = 0; j < n; j++) total += w[j];
  const rng = new Random(fmix32((fmix32(seed >>> 0) ^ Math.floor(seed / 4294967296)) + Math.imul(offset + 1, 0x9e3779b9) >>> 0));
  let u = rng.uniform() * total;
  for (let j = 0; j < n; j++) {
    u -= w[j];
    if (u < 0) return order[j];
  }
  return order[n - 1];
}
