/**
 * The decoding loop behind lib/generate: a batch of prompts (token ids) prefilled into a KV cache
 * in one pass, then one token per row per step until every row is done.
 *
 * Rows of different lengths: the prompts are right-padded to the longest and prefilled with
 * per-row counts (right padding is exact under a causal mask: a real query never sees the padding
 * after it, and the padding is never cached); each row then keeps its own length and position, and
 * a step attends over the whole cache buffer with per-row key lengths. A row that is done is fed a
 * pad token with its cache emptied, so it costs a little compute and never changes the others.
 * Draws are per row (its seed, its token index), so a row's text does not depend on its batch.
 *
 * The cache is allocated for the longest prompt plus maxTokens, at most blockSize. A full context
 * (blockSize tokens cached) is slid: the row's cache is restarted with its last
 * ⌊blockSize/2⌋ tokens (one prefill), so long outputs cost one recompute every blockSize/2 tokens.
 *
 * A logit bias is one f32 [V] tensor on the model's device, made once per call and shared by every
 * step and row; it is freed with the cache however the loop ends.
 */
import type { GPT } from '../models/gpt';
import { CastCache } from '../nn/context';
import { scope } from '../scope';
import { Tensor } from '../tensor';
import type { Tokenizer } from '../tokenizer';
import type { ResolvedOptions } from './options';
import { usesHistory } from './options';
import { pickTokens } from './pickTokens';
import { DecodeStepGraph, stepGraphEnabled } from './stepGraph';
import { IncrementalDecoder, StopMatcher } from './textStream';

/** Why a row ended: a stop string, the end-of-text token, or maxTokens. */
export type FinishReason = 'stop' | 'eos' | 'length';

/** A piece of text of one row. */
export interface RowPiece {
  row: number;
  text: string;
}

/** How a row ended. */
export interface RowResult {
  /** The generated ids (without a final end-of-text token). */
  tokens: number[];
  finishReason: FinishReason;
}

function throwIfAborted(signal: AbortSignal | null): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Generates after each prompt (ids, 1 to blockSize - 1 of them), yielding text pieces as they
 * become certain (valid text; stop strings withheld); returns how each row ended.
 */
export async function* decodeRows(model: GPT, tokenizer: Tokenizer, prompts: readonly number[][], o: ResolvedOptions): AsyncGenerator<RowPiece, RowResult[]> {
  const B = prompts.length;
  const block = model.config.blockSize;
  const device = model.device;
  const eos = o.stopOnEos ? tokenizer.specialId('eos') : undefined;
  const gen: number[][] = prompts.map(() => []);
  const finish: (FinishReason | null)[] = prompts.map(() => null);
  const decoders = prompts.map(() => new IncrementalDecoder(tokenizer));
  const stoppers = prompts.map(() => new StopMatcher(o.stop));
  const seeds = prompts.map(() => o.seed);
  const autocast = o.autocast;
  throwIfAborted(o.signal);
  // A row caches at most its prompt and maxTokens - 1 generated tokens (the last one is never fed),
  // so a short request allocates that much instead of a whole context; a longer one gets blockSize
  // and slides when full.
  const cacheLength = Math.min(block, Math.max(...prompts.map((p) => p.length)) + o.maxTokens - 1);
  const cache = model.createCache(B, cacheLength, { autocast });
  let logits: Tensor | null = null;
  let bias: Tensor | null = null;
  // One-token steps replay a captured graph (stepGraph.ts), whose logits are its own: only the
  // prefill's (and the eager path's) are disposed here.
  let graph: DecodeStepGraph | null = null;
  let ownLogits = true;
  // Under autocast the weights are cast to bf16 once for the whole call, not in every step.
  let casts: CastCache | undefined;
  try {
    if (autocast) casts = new CastCache(model.parameters(), autocast);
    if (stepGraphEnabled()) graph = new DecodeStepGraph(model, cache, autocast, casts);
    if (o.logitBias) bias = logitBiasTensor(o.logitBias, model.config.vocabSize, device);
    const T = Math.max(...prompts.map((p) => p.length));
    const padded = new Int32Array(B * T);
    prompts.forEach((p, b) => padded.set(p, b * T));
    logits = scope(() => model.forwardCached(Tensor.from(padded, [B, T], { dtype: 'i32', device }), cache,
      { counts: prompts.map((p) => p.length), last: true, autocast, casts }));
    for (;;) {
      const histories = usesHistory(o) ? prompts.map((p, b) => p.concat(gen[b])) : null;
      const next = await pickTokens(logits, o, histories, seeds, gen.map((g) => g.length), bias);
      if (ownLogits) logits.dispose();
      logits = null;
      throwIfAborted(o.signal);
      for (let b = 0; b < B; b++) {
        if (finish[b]) continue;
        const id = next[b];
        let text = '';
        if (eos !== undefined && id === eos) finish[b] = 'eos';
        else {
          gen[b].push(id);
          text = stoppers[b].push(decoders[b].push(id));
          if (stoppers[b].stopped) finish[b] = 'stop';
          else if (gen[b].length >= o.maxTokens) finish[b] = 'length';
        }
        if (finish[b] && finish[b] !== 'stop') {
          text += stoppers[b].push(decoders[b].flush());
          if (stoppers[b].stopped) finish[b] = 'stop';
          else text += stoppers[b].flush();
        }
        if (text) yield { row: b, text };
      }
      if (finish.every((f) => f !== null)) break;
      throwIfAborted(o.signal);
      const feed = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        if (finish[b]) {
          cache.truncate(0, b);
          continue;
        }
        feed[b] = gen[b][gen[b].length - 1];
        if (cache.lengths[b] === cache.maxLength) restartRow(model, cache, b, prompts[b].concat(gen[b]), autocast, casts);
      }
      ownLogits = !graph;
      logits = graph ? graph.step(feed)
        : scope(() => model.forwardCached(Tensor.from(feed, [B, 1], { dtype: 'i32', device }), cache, { last: true, autocast, casts }));
    }
    return gen.map((tokens, b) => ({ tokens, finishReason: finish[b]! }));
  } finally {
    if (ownLogits) logits?.dispose();
    graph?.dispose();
    casts?.dispose();
    bias?.dispose();
    cache.dispose();
  }
}

/** The dense f32 [V] bias on `device` of the sparse, checked `entries` (id -> bias, bans as -Infinity). */
export function logitBiasTensor(entries: ReadonlyMap<number, number>, V: number, device: string): Tensor {
  const dense = new Float32Array(V);
  for (const [id, b] of entries) dense[id] = b;
  return Tensor.from(dense, [V], { device });
}

/** Slides a full row: its cache restarts with the ⌊blockSize/2⌋ - 1 tokens before the newest (fed next). */
function restartRow(model: GPT, cache: ReturnType<GPT['createCache']>, row: number, seq: readonly number[], autocast: 'bf16' | undefined,
  casts: CastCache | undefined): void {
  const keep = Math.max(1, Math.floor(model.config.blockSize / 2));
  cache.truncate(0, row);
  const context = seq.slice(seq.length - keep, seq.length - 1);
  if (context.length === 0) return;
  const sub = cache.rows(row, 1);
  scope(() => model.forwardCached(Tensor.from(Int32Array.from(context), [1, context.length], { dtype: 'i32', device: model.device }), sub,
    { last: true, autocast, casts })).dispose();
  sub.dispose();
}
