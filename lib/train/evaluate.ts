/**
 * `glm eval`: the loss and perplexity of a trained run, on its own validation split or on text the
 * user gives. Text is cut into consecutive non-overlapping windows of blockSize predictions, so every
 * token after the first is predicted exactly once (from at most blockSize tokens of context).
 */
import * as path from 'path';

import { noGrad } from '../autograd';
import { BatchSampler, documentSeparatorIds, openShard, readCorpus, resolveCorpus, splitTokens } from '../data';
import { GlmError } from '../errors';
import { GPT } from '../models/gpt';
import { scope } from '../scope';
import { Tensor } from '../tensor';
import { recoverCheckpoint } from './checkpoint';
import { loadModelWeights } from './modelFile';
import { hasCheckpoint, readJson, RunConfig, runPath, RunState } from './runDir';
import { loadRunTokenizer } from './tokenizerSetup';
import { evaluateLoss } from './trainer';

export interface EvalResult {
  /** Mean cross-entropy per predicted token (nats). */
  loss: number;
  perplexity: number;
  /** Tokens predicted. */
  tokens: number;
  /** The checkpoint's step. */
  step: number;
  source: 'validation split' | 'files';
}

/** Loads a run's model from its last checkpoint. */
export function loadRunModel(dir: string, device: string): { model: GPT; config: RunConfig; state: RunState } {
  if (!hasCheckpoint(dir)) throw new GlmError('eval', `'${dir}' holds no checkpoint (config.json and state.json); train one with glm train --out ${dir}`);
  recoverCheckpoint(dir);
  const config = readJson<RunConfig>(runPath(dir, 'config'));
  const state = readJson<RunState>(runPath(dir, 'state'));
  const model = new GPT(config.model, { seed: config.train.seed, device });
  try {
    loadModelWeights(runPath(dir, 'model'), model);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, config, state };
}

/** Loss over consecutive windows of `ids` (see the file comment), `batchSize` windows at a time. */
export async function lossOverTokens(model: GPT, ids: ArrayLike<number>, batchSize: number, device: string): Promise<{ loss: number; tokens: number }> {
  const T = model.config.blockSize;
  if (ids.length < 2) throw new GlmError('eval', `the text has ${ids.length} token(s); at least 2 are needed to predict one`);
  let totalLoss = 0, totalTokens = 0;
  const starts: number[] = [];
  for (let s = 0; s + 1 < ids.length; s += T) starts.push(s);
  for (let i = 0; i < starts.length; i += batchSize) {
    const group = starts.slice(i, i + batchSize);
    // Windows are padded to a common length with target -100 (no loss), so the last, short window counts exactly.
    const len = Math.min(T, Math.max(...group.map((s) => Math.min(T, ids.length - 1 - s))));
    const x = new Int32Array(group.length * len), y = new Int32Array(group.length * len).fill(-100);
    let n = 0;
    group.forEach((s, b) => {
      const m = Math.min(len, ids.length - 1 - s);
      for (let t = 0; t < m; t++) {
        x[b * len + t] = ids[s + t];
        y[b * len + t] = ids[s + t + 1];
      }
      n += m;
    });
    const mean = await scope(() =>
      noGrad(() => model.forward(
        Tensor.from(x, [group.length, len], { dtype: 'i32', device }),
        Tensor.from(y, [group.length, len], { dtype: 'i32', device }),
      ).loss!).item(),
    );
    totalLoss += mean * n;
    totalTokens += n;
  }
  return { loss: totalLoss / totalTokens, tokens: totalTokens };
}

/** Evaluates the run in `dir` on `files` (tokenized with the run's tokenizer) or on its validation split. */
export async function evaluateRun(dir: string, opts: { files?: string[]; device?: string; batchSize?: number } = {}): Promise<EvalResult> {
  const device = opts.device ?? 'cpu';
  const { model, config, state } = loadRunModel(path.resolve(dir), device);
  const batchSize = opts.batchSize ?? config.train.batchSize;
  try {
    if (opts.files && opts.files.length > 0) {
      const tokenizer = loadRunTokenizer(runPath(dir, 'tokenizer'));
      const corpus = await resolveCorpus(opts.files);
      const ids: number[] = [];
      const separator = documentSeparatorIds(tokenizer);
      let document = -1;
      for await (const chunk of readCorpus(corpus)) {
        if (document >= 0 && chunk.document !== document) ids.push(...separator);  // as the training shard joins documents
        document = chunk.document;
        for (const id of tokenizer.encode(chunk.text)) ids.push(id);
      }
      const { loss, tokens } = await lossOverTokens(model, ids, batchSize, device);
      return { loss, perplexity: Math.exp(loss), tokens, step: state.step, source: 'files' };
    }
    const shard = await openShard(path.join(dir, 'data', 'tokens.bin'));
    const split = splitTokens(shard.length, { valFraction: config.train.valFraction });
    const val = new BatchSampler({ tokens: shard.tokens, ranges: split.val, batchSize, blockSize: config.model.blockSize, seed: config.train.seed + 1, name: 'validation' });
    const iters = Math.max(1, Math.min(200, Math.floor(split.valTokens / (batchSize * config.model.blockSize))));
    const loss = await evaluateLoss(model, val, iters, batchSize, device, device.startsWith('cuda') ? config.train.autocast : 'none');
    return { loss, perplexity: Math.exp(loss), tokens: iters * batchSize * config.model.blockSize, step: state.step, source: 'validation split' };
  } finally {
    model.dispose();
  }
}
