/**
 * `glm eval`: the loss and perplexity of a trained run, on its own validation split or on text the
 * user gives. Text is cut into consecutive non-overlapping windows of blockSize predictions, so every
 * token after the first is predicted exactly once (from at most blockSize tokens of context).
 */
import * as path from 'path';

import { noGrad } from '../autograd';
import { BatchSampler, documentSeparatorIds, openShard, readCorpus, resolveCorpus, splitTokens } from '../data';
import { GlmError } from '../errors';
import type { Encoder } from '../models/encoder';
import { GPT } from '../models/gpt';
import { scope } from '../scope';
import { Tensor } from '../tensor';
import { recoverCheckpoint } from './checkpoint';
import { buildObjective } from './objectives/build';
import { createRunModel, loadRunWeights, RunModel } from './runModel';
import { hasCheckpoint, readJson, RunConfig, runPath, RunState } from './runDir';
import { loadRunTokenizer } from './tokenizerSetup';
import { evaluateLoss } from './trainer';

export interface EvalResult {
  /** Mean cross-entropy per predicted token (nats); for MLM + NSP, masked-LM plus NSP. */
  loss: number;
  /** exp of the per-token LM loss (causal, masked-LM or blank-infilling). */
  perplexity: number;
  /** The objective's loss parts (mlm, nsp), when it has several. */
  parts?: Record<string, number>;
  /** Tokens predicted. */
  tokens: number;
  /** The checkpoint's step. */
  step: number;
  source: 'validation split' | 'files';
}

/** Loads a run's model (a GPT or an Encoder, per its objective) from its last checkpoint. */
export function loadAnyRunModel(dir: string, device: string): { model: RunModel; config: RunConfig; state: RunState } {
  if (!hasCheckpoint(dir)) throw new GlmError('eval', `'${dir}' holds no checkpoint (config.json and state.json); train one with glm train --out ${dir}`);
  recoverCheckpoint(dir);
  const config = readJson<RunConfig>(runPath(dir, 'config'));
  if ((config as { kind?: string }).kind === 'classifier')
    throw new GlmError('run', `'${dir}' holds a fine-tuned classifier (glm eval reports it); to fine-tune or generate, use the pretrained run it came from`);
  const state = readJson<RunState>(runPath(dir, 'state'));
  const model = createRunModel(config.objective ?? 'causal', config.model, config.train.seed, device);
  try {
    loadRunWeights(runPath(dir, 'model'), model);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, config, state };
}

/** Loads a GPT run's model from its last checkpoint (an encoder run is an error saying what it is). */
export function loadRunModel(dir: string, device: string): { model: GPT; config: RunConfig; state: RunState } {
  const run = loadAnyRunModel(dir, device);
  if (!(run.model instanceof GPT)) {
    run.model.dispose();
    throw new GlmError('run', `'${dir}' holds an encoder trained with --objective ${run.config.objective}, not a GPT` +
      (run.config.objective === 'glm' ? ' (fill blanks with glm generate DIR --infill "text with [MASK]")' : ''));
  }
  return { model: run.model, config: run.config, state: run.state };
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
  const run = loadAnyRunModel(path.resolve(dir), device);
  if (!(run.model instanceof GPT)) return evaluateEncoderRun(dir, run.model, run.config, run.state, opts, device);
  const { config, state } = run;
  const model = run.model;
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

/**
 * An encoder run's objective (MLM + NSP, or GLM) on its validation split or on `files`, with the
 * same seeded batches every time; the count of evaluation batches covers the text up to 200.
 */
async function evaluateEncoderRun(dir: string, model: Encoder, config: RunConfig, state: RunState,
  opts: { files?: string[]; batchSize?: number }, device: string): Promise<EvalResult> {
  try {
    const tokenizer = loadRunTokenizer(runPath(dir, 'tokenizer'));
    const batchSize = opts.batchSize ?? config.train.batchSize;
    const settings = { batchSize, seed: config.train.seed, autocast: device.startsWith('cuda') ? config.train.autocast : 'none' as const };
    let tokens: ArrayLike<number> & { subarray(a: number, b: number): Int32Array | Uint16Array | Uint32Array };
    let val: { start: number; end: number }[];
    let source: EvalResult['source'];
    if (opts.files && opts.files.length > 0) {
      const ids: number[] = [];
      const separator = documentSeparatorIds(tokenizer);
      let document = -1;
      for await (const chunk of readCorpus(await resolveCorpus(opts.files))) {
        if (document >= 0 && chunk.document !== document) ids.push(...separator);
        document = chunk.document;
        for (const id of tokenizer.encode(chunk.text)) ids.push(id);
      }
      tokens = Int32Array.from(ids);
      val = [{ start: 0, end: ids.length }];
      source = 'files';
    } else {
      const shard = await openShard(path.join(dir, 'data', 'tokens.bin'));
      tokens = shard.tokens;
      val = splitTokens(shard.length, { valFraction: config.train.valFraction }).val.slice();
      source = 'validation split';
    }
    // The objective draws its validation batches from `val`; the training side is never read here.
    const objective = buildObjective(config.objective!, model, tokenizer, tokens as Int32Array, { train: val, val }, settings);
    const valTokens = val.reduce((n, r) => n + r.end - r.start, 0);
    const iters = Math.max(1, Math.min(200, Math.floor(valTokens / (batchSize * model.config.blockSize))));
    const r = await objective.evaluate(iters);
    return { loss: r.loss, perplexity: Math.exp(r.lmLoss), parts: r.parts, tokens: iters * objective.tokensPerMicroBatch, step: state.step, source };
  } finally {
    model.dispose();
  }
}
