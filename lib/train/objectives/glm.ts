/**
 * GLM's autoregressive blank-infilling objective for an Encoder (arch 'glm'): windows of N tokens
 * drawn by the batch sampler, spans (Poisson(3) lengths, 15% of the tokens) blanked in Part A and
 * predicted left to right in Part B. N is chosen so that Part A plus Part B (N + 2·spans) always fits
 * the block. Span draws are seeded by (seed, step, micro); the sampler's state is the objective's.
 */
import { noGrad } from '../../autograd';
import type { BatchSampler } from '../../data';
import { buildGlmBatch } from '../../data/objectives';
import { GlmError } from '../../errors';
import type { Encoder, GlmBatch } from '../../models/encoder';
import { Random } from '../../random';
import { scope } from '../../scope';
import { Tensor } from '../../tensor';
import { batchSeed } from './mlmNsp';
import type { MicroLoss, ObjectiveEval, TrainObjective } from './types';

/** The share of tokens GLM blanks. */
export const GLM_RATE = 0.15;

/** The special ids of GLM's inputs: [MASK] in Part A, a span's start token and its end target. */
export interface GlmSpecials {
  mask: number;
  start: number;
  end: number;
}

/**
 * The window length N whose GLM example always fits `blockSize`: at most round(rate·N) spans of one
 * token each add 2 tokens apiece, so N + 2·round(rate·N) <= blockSize.
 */
export function glmWindow(blockSize: number, rate = GLM_RATE): number {
  let n = Math.floor(blockSize / (1 + 2 * rate));
  while (n > 1 && n + 2 * Math.round(rate * n) > blockSize) n--;
  return n;
}

/** A GLM batch of the windows `rows` (each N tokens) as tensors on `device`. */
export function glmBatch(rows: readonly Int32Array[], specials: GlmSpecials, random: Random, device: string): GlmBatch {
  const g = buildGlmBatch(rows, random, { maskId: specials.mask, startId: specials.start, endId: specials.end, rate: GLM_RATE });
  const B = g.batchSize, L = g.length, P = g.prefixLength;
  const targets = new Int32Array(B * (L - P));
  for (let b = 0; b < B; b++) targets.set(g.targets.subarray(b * L + P, (b + 1) * L), b * (L - P));
  const ids = (a: Int32Array, shape: number[]) => Tensor.from(a, shape, { dtype: 'i32', device });
  return {
    idx: ids(g.tokens, [B, L]), positions: ids(g.pos1, [B, L]), blockPositions: ids(g.pos2, [B, L]),
    targets: ids(targets, [B, L - P]), prefixLength: P,
  };
}

/** The windows of a sampler batch (its x rows). */
function windows(x: Int32Array, batchSize: number): Int32Array[] {
  const n = x.length / batchSize;
  return Array.from({ length: batchSize }, (_, b) => x.subarray(b * n, (b + 1) * n));
}

/** The GLM objective of `model`; the samplers draw windows of glmWindow(blockSize) tokens. */
export function glmObjective(model: Encoder, train: BatchSampler, val: BatchSampler, specials: GlmSpecials,
  batchSize: number, seed: number, autocast: 'bf16' | 'none'): TrainObjective {
  if (model.config.arch !== 'glm') throw new GlmError('train', `--objective glm needs an encoder of arch 'glm', not '${model.config.arch}'`);
  const device = model.device;
  const cast = autocast === 'bf16' ? 'bf16' : undefined;
  return {
    name: 'glm',
    tokensPerMicroBatch: batchSize * glmWindow(model.config.blockSize),
    trainLoss(step: number, micro: number, dropoutSeed: number): MicroLoss {
      const batch = glmBatch(windows(train.next().x, batchSize), specials, new Random(batchSeed(seed, step, micro)), device);
      return { loss: model.glmLoss(batch, { training: true, dropoutSeed, autocast: cast }), parts: {} };
    },
    async evaluate(iters: number): Promise<ObjectiveEval> {
      let total = 0;
      const batches = val.evalBatches(iters);
      for (let i = 0; i < batches.length; i++) {
        total += await scope(() => noGrad(() =>
          model.glmLoss(glmBatch(windows(batches[i].x, batchSize), specials, new Random(batchSeed(seed + 1, 0, i)), device), { autocast: cast })).item());
      }
      const loss = total / batches.length;
      return { loss, parts: {}, lmLoss: loss };
    },
    getState: () => train.getState(),
    setState: (s) => train.setState(s as Parameters<BatchSampler['setState']>[0]),
  };
}
