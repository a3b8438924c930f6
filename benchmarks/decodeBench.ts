/**
 * What the decoding benchmarks share (generate.ts on the CPU, gpu-generate.ts on a GPU): greedy decoding
 * of random prompts the way lib/generate steps (prefill the prompt once into a KV cache, then one token
 * per step; or, without a cache, the whole window recomputed every token), timed per step; the job
 * directory their PyTorch twins read (weights.safetensors, prompts.bin, job.json); and how many leading
 * greedy tokens two runs agree on.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { noGrad } from '../lib/autograd';
import type { SamplingParams } from '../lib/generate/options';
import { pickTokens } from '../lib/generate/pickTokens';
import { DecodeStepGraph, stepGraphEnabled } from '../lib/generate/stepGraph';
import { saveTensorsSync } from '../lib/io/tensors';
import type { GPT } from '../lib/models/gpt';
import { CastCache } from '../lib/nn/context';
import { Random } from '../lib/random';
import { scope } from '../lib/scope';
import { Tensor } from '../lib/tensor';
import { median } from './trainBench';

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0 };

/** One timed decode: the first `batch` prompts, `newTokens` greedy tokens, with or without a KV cache. */
export interface DecodeCase {
  batch: number;
  cache: boolean;
  newTokens: number;
}

/** What a decode measured (both sides report this shape). */
export interface DecodeResult {
  prefillMs: number;
  stepMs: number;
  tokensPerSec: number;
  /** [batch][newTokens] greedy ids. */
  tokens: number[][];
}

/** `rows` × `promptLength` random ids in [0, vocabSize), seeded (the same on every run). */
export function randomPrompts(rows: number, promptLength: number, vocabSize: number, seed = 7): Int32Array {
  const rng = new Random(seed);
  return Int32Array.from({ length: rows * promptLength }, () => Math.floor(rng.uniform() * vocabSize));
}

/**
 * Greedy decoding of `c.newTokens` tokens after the first `c.batch` rows of `prompts` ([rows,
 * promptLength] row-major), the way lib/generate steps; `autocast` 'bf16' gives a bf16 KV cache and
 * bf16 matmuls. The first pass (the prefill) is timed apart; stepMs is the median of the rest.
 */
export async function decodeOurs(model: GPT, prompts: Int32Array, promptLength: number, c: DecodeCase, autocast?: 'bf16'): Promise<DecodeResult> {
  const B = c.batch, P = promptLength;
  const device = model.device;
  const seeds = new Array<number>(B).fill(0);
  const rows: number[][] = Array.from({ length: B }, () => []);
  const window = Int32Array.from(prompts.subarray(0, B * P));
  const cache = c.cache ? model.createCache(B, P + c.newTokens, autocast ? { autocast } : {}) : null;
  // As lib/generate: under autocast the cached passes read bf16 copies of the weights made once; cached
  // one-token steps replay a captured graph (GLM_DECODE_GRAPH=0: eager).
  const casts = cache && autocast ? new CastCache(model.parameters(), autocast) : undefined;
  const opts = autocast ? { autocast } : {};
  const graph = cache && stepGraphEnabled() ? new DecodeStepGraph(model, cache, autocast, casts) : null;
  let prefillMs = 0;
  const steps: number[] = [];
  try {
    let seq: Int32Array = window;  // [B, t] row-major: the whole window, for the uncached passes
    let last: Int32Array = new Int32Array(B);
    for (let i = 0; i < c.newTokens; i++) {
      const t0 = performance.now();
      const t = i === 0 ? P : 1;
      const fromGraph = graph !== null && i > 0;
      const logits = fromGraph ? graph.step(last) : scope(() => noGrad(() => {
        if (cache) return model.forwardCached(Tensor.from(i === 0 ? window : last, [B, t], { dtype: 'i32', device }), cache, { last: true, ...opts, casts });
        return model.logitsLast(Tensor.from(seq, [B, seq.length / B], { dtype: 'i32', device }), opts);
      }));
      const next = await pickTokens(logits, GREEDY, null, seeds, rows.map((r) => r.length));
      if (!fromGraph) logits.dispose();
      const ms = performance.now() - t0;
      if (i === 0) prefillMs = ms;
      else steps.push(ms);
      last = next;
      next.forEach((id, b) => rows[b].push(id));
      if (!cache) {
        const L = seq.length / B, grown = new Int32Array(B * (L + 1));
        for (let b = 0; b < B; b++) {
          grown.set(seq.subarray(b * L, (b + 1) * L), b * (L + 1));
          grown[b * (L + 1) + L] = next[b];
        }
        seq = grown;
      }
    }
  } finally {
    graph?.dispose();
    casts?.dispose();
    cache?.dispose();
  }
  const stepMs = median(steps);
  return { prefillMs, stepMs, tokensPerSec: B / (stepMs / 1000), tokens: rows };
}

/** How many leading tokens of every row agree (the minimum over rows). */
export function agreement(a: number[][], b: number[][]): number {
  let n = Infinity;
  a.forEach((row, r) => {
    let k = 0;
    while (k < row.length && row[k] === b[r][k]) k++;
    n = Math.min(n, k);
  });
  return n;
}

/**
 * A fresh job directory for a decoding twin: weights.safetensors (the model's, f32), prompts.bin
 * (int32 [rows, promptLength]) and job.json (`job`). Remove it with fs.rmSync(dir, { recursive: true }).
 */
export function writeDecodeJob(prefix: string, model: GPT, prompts: Int32Array, job: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  saveTensorsSync(path.join(dir, 'weights.safetensors'), model.stateDict());
  fs.writeFileSync(path.join(dir, 'prompts.bin'), prompts);
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job));
  return dir;
}
