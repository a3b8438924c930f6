/**
 * The causal LM objective of a GPT: next-token cross-entropy on windows drawn by the batch sampler
 * (whose state is the objective's state).
 */
import { noGrad } from '../../autograd';
import type { Batch, BatchSampler } from '../../data';
import type { GPT } from '../../models/gpt';
import { scope } from '../../scope';
import { Tensor } from '../../tensor';
import type { MicroLoss, ObjectiveEval, TrainObjective } from './types';

function batchTensors(b: Batch, batchSize: number, device: string): [Tensor, Tensor] {
  const T = b.x.length / batchSize;
  return [
    Tensor.from(b.x, [batchSize, T], { dtype: 'i32', device }),
    Tensor.from(b.y, [batchSize, T], { dtype: 'i32', device }),
  ];
}

/** Mean validation loss of `model` over `iters` fixed batches of `val`. */
export async function evaluateLoss(model: GPT, val: BatchSampler, iters: number, batchSize: number, device: string, autocast: 'bf16' | 'none'): Promise<number> {
  let total = 0;
  const batches = val.evalBatches(iters);
  for (const b of batches) {
    total += await scope(() =>
      noGrad(() => {
        const [x, y] = batchTensors(b, batchSize, device);
        return model.forward(x, y, { autocast: autocast === 'bf16' ? 'bf16' : undefined }).loss!;
      }).item(),
    );
  }
  return total / batches.length;
}

/** The causal objective of `model` over the train and validation samplers. */
export function causalObjective(model: GPT, train: BatchSampler, val: BatchSampler, batchSize: number, autocast: 'bf16' | 'none'): TrainObjective {
  const device = model.device;
  const cast = autocast === 'bf16' ? 'bf16' : undefined;
  return {
    name: 'causal',
    tokensPerMicroBatch: batchSize * model.config.blockSize,
    trainLoss(_step: number, _micro: number, dropoutSeed: number): MicroLoss {
      const [x, y] = batchTensors(train.next(), batchSize, device);
      return { loss: model.forward(x, y, { training: true, dropoutSeed, autocast: cast }).loss!, parts: {} };
    },
    async evaluate(iters: number): Promise<ObjectiveEval> {
      const loss = await evaluateLoss(model, val, iters, batchSize, device, autocast);
      return { loss, parts: {}, lmLoss: loss };
    },
    getState: () => train.getState(),
    setState: (s) => train.setState(s as Parameters<BatchSampler['setState']>[0]),
  };
}
