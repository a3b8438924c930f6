/**
 * BERT's pretraining objective for an Encoder (arch 'bert'): pairs of segments [CLS] A [SEP] B [SEP]
 * (B the true continuation half the time) with masked-LM corruption (15%: 80% [MASK], 10% random,
 * 10% kept); the loss is masked-LM plus next-sentence cross-entropy, each also reported alone.
 * Every micro-batch is drawn from a generator seeded by (seed, step, micro), so a resumed run draws
 * the same batches without any sampler state.
 */
import { noGrad } from '../../autograd';
import { buildNspBatch, maskTokens } from '../../data/objectives';
import type { NspDocuments } from '../../data/objectives';
import { GlmError } from '../../errors';
import type { Encoder, MlmNspBatch } from '../../models/encoder';
import { fmix32, Random } from '../../random';
import { scope } from '../../scope';
import { Tensor } from '../../tensor';
import type { MicroLoss, ObjectiveEval, TrainObjective } from './types';

/** The special ids an encoder's inputs use. */
export interface EncoderSpecials {
  cls: number;
  sep: number;
  mask: number;
  pad: number;
  /** Every special id of the tokenizer (never masked, never drawn as a random replacement). */
  all: readonly number[];
}

/** The seed of micro-batch (step, micro) of a stream seeded with `seed`. */
export function batchSeed(seed: number, step: number, micro: number): number {
  return fmix32(fmix32(fmix32(seed ^ 0x5bd1e995) ^ step) ^ (micro + 0x68e31da4));
}

/** The flat positions whose MLM target is set (not -100), and those targets. */
export function selectedRows(targets: Int32Array): { rows: Int32Array; picked: Int32Array } {
  let n = 0;
  for (const t of targets) if (t !== -100) n++;
  const rows = new Int32Array(n), picked = new Int32Array(n);
  n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== -100) (rows[n] = i), (picked[n++] = targets[i]);
  return { rows, picked };
}

/** One MLM + NSP batch as tensors on `device`, drawn from `random`. */
export function mlmNspBatch(docs: NspDocuments, batchSize: number, maxLength: number, vocabSize: number, specials: EncoderSpecials, random: Random, device: string): MlmNspBatch {
  const nsp = buildNspBatch(docs, batchSize, random, { maxLength, clsId: specials.cls, sepId: specials.sep, padId: specials.pad });
  const input = nsp.ids.slice();
  const targets = new Int32Array(input.length).fill(-100);
  for (let b = 0; b < batchSize; b++) {
    const len = nsp.lengths[b];
    const row = nsp.ids.subarray(b * maxLength, b * maxLength + len);
    const m = maskTokens(row, { vocabSize, maskId: specials.mask, specialIds: specials.all }, random);
    input.set(m.input, b * maxLength);
    targets.set(m.targets, b * maxLength);
  }
  const ids = (a: Int32Array, shape: number[]) => Tensor.from(a, shape, { dtype: 'i32', device });
  const { rows, picked } = selectedRows(targets);
  return {
    idx: ids(input, [batchSize, maxLength]),
    segments: ids(nsp.segments, [batchSize, maxLength]),
    keyLengths: ids(nsp.lengths, [batchSize]),
    mlmRows: rows,
    mlmTargets: ids(picked, [rows.length]),
    nspLabels: ids(nsp.isNext, [batchSize]),
  };
}

/** The MLM + NSP objective of `model` over train and validation documents. */
export function mlmNspObjective(model: Encoder, train: NspDocuments, val: NspDocuments, specials: EncoderSpecials,
  batchSize: number, seed: number, autocast: 'bf16' | 'none'): TrainObjective {
  if (model.config.arch !== 'bert') throw new GlmError('train', `--objective mlm+nsp needs an encoder of arch 'bert', not '${model.config.arch}'`);
  const T = model.config.blockSize, V = model.config.vocabSize, device = model.device;
  const cast = autocast === 'bf16' ? 'bf16' : undefined;
  return {
    name: 'mlm+nsp',
    tokensPerMicroBatch: batchSize * T,
    trainLoss(step: number, micro: number, dropoutSeed: number): MicroLoss {
      const batch = mlmNspBatch(train, batchSize, T, V, specials, new Random(batchSeed(seed, step, micro)), device);
      const { loss, mlm, nsp } = model.mlmNspLoss(batch, { training: true, dropoutSeed, autocast: cast });
      return { loss, parts: { mlm, nsp } };
    },
    async evaluate(iters: number): Promise<ObjectiveEval> {
      let mlm = 0, nsp = 0;
      for (let i = 0; i < iters; i++) {
        const [m, n] = await scope(async () => {
          const r = noGrad(() => model.mlmNspLoss(mlmNspBatch(val, batchSize, T, V, specials, new Random(batchSeed(seed + 1, 0, i)), device), { autocast: cast }));
          return [await r.mlm.item(), await r.nsp.item()];
        });
        mlm += m;
        nsp += n;
      }
      mlm /= iters;
      nsp /= iters;
      return { loss: mlm + nsp, parts: { mlm, nsp }, lmLoss: mlm };
    },
    getState: () => ({}),
    setState: () => {},
  };
}
