/**
 * `glm train [files...]`: options to TrainOptions, a progress bar and eval lines on the way, and
 * SIGINT/SIGTERM turned into "finish this step, write a checkpoint, exit" (a second signal exits at once).
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

import { GlmError } from '../errors';
import { train, TrainOptions } from '../train/run';
import type { TrainEvent } from '../train/trainer';
import { createProgress, Progress } from './progress';

/** Options as commander parses them (strings become numbers through the parsers below). */
export interface TrainCliOptions {
  out: string;
  preset?: string;
  objective?: string;
  resume?: boolean;
  steps?: number;
  batch?: number;
  gradAccum?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  weightDecay?: number;
  gradClip?: number;
  evalInterval?: number;
  evalIters?: number;
  seed?: number;
  device?: string;
  autocast?: 'bf16' | 'none' | 'auto';
  tokenizer?: string;
  vocabSize?: number;
  layers?: number;
  heads?: number;
  embd?: number;
  block?: number;
  dropout?: number;
  positional?: 'learned' | 'sinusoidal' | 'rope';
  sampleTokens?: number;
}

/** Parses an integer option, naming the option in the error. */
export function intOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer for --${name}, got ${JSON.stringify(v)}`);
    return n;
  };
}

/** Parses a number option, naming the option in the error. */
export function numOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number for --${name}, got ${JSON.stringify(v)}`);
    return n;
  };
}

/** Declares train's options on `cmd`. */
export function addTrainOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--out <dir>', 'run directory (checkpoints, metrics, plots)')
    .option('--objective <name>', 'causal (a GPT, the default) | mlm+nsp (a BERT-style encoder) | glm (GLM blank infilling)')
    .option('--preset <name>', 'model preset: tiny | small | gpt2 for GPTs, tiny | small for encoders (default tiny; on --resume, the run\'s)')
    .option('--resume', 'continue the run in --out')
    .option('--steps <n>', 'optimizer steps', intOption('steps'))
    .option('--batch <n>', 'sequences per micro-batch', intOption('batch'))
    .option('--grad-accum <n>', 'micro-batches per step', intOption('grad-accum'))
    .option('--lr <x>', 'peak learning rate', numOption('lr'))
    .option('--min-lr <x>', 'final learning rate of the cosine schedule', numOption('min-lr'))
    .option('--warmup <n>', 'warmup steps', intOption('warmup'))
    .option('--weight-decay <x>', 'decoupled weight decay (matrices only)', numOption('weight-decay'))
    .option('--grad-clip <x>', 'global gradient-norm clip (0: off)', numOption('grad-clip'))
    .option('--eval-interval <n>', 'steps between evaluations and checkpoints', intOption('eval-interval'))
    .option('--eval-iters <n>', 'validation batches per evaluation', intOption('eval-iters'))
    .option('--seed <n>', 'seed of weights, batches and dropout', intOption('seed'))
    .option('--device <device>', 'cpu, cuda or cuda:N')
    .option('--autocast <mode>', 'bf16 | none | auto (bf16 on CUDA)')
    .option('--tokenizer <kind>', 'char | bpe | gpt2 (default char)')
    .option('--vocab-size <n>', 'BPE vocabulary size (with --tokenizer bpe)', intOption('vocab-size'))
    .option('--layers <n>', 'override the preset: transformer blocks', intOption('layers'))
    .option('--heads <n>', 'override the preset: attention heads', intOption('heads'))
    .option('--embd <n>', 'override the preset: model width', intOption('embd'))
    .option('--block <n>', 'override the preset: context length', intOption('block'))
    .option('--dropout <p>', 'override the preset: residual dropout', numOption('dropout'))
    .option('--positional <kind>', 'override the preset: learned | sinusoidal | rope')
    .option('--sample-tokens <n>', 'tokens of sample text at each evaluation', intOption('sample-tokens'));
}

/** Maps CLI options to the library's TrainOptions (undefined fields keep the preset's defaults). */
export function toTrainOptions(files: string[], o: TrainCliOptions): TrainOptions {
  const tokenizerKind = o.tokenizer ?? (o.vocabSize !== undefined ? 'bpe' : undefined);
  if (tokenizerKind !== undefined && !['char', 'bpe', 'gpt2'].includes(tokenizerKind)) throw new GlmError('train', `option '--tokenizer': expected char, bpe or gpt2, got ${JSON.stringify(tokenizerKind)}`);
  if (o.vocabSize !== undefined && tokenizerKind !== 'bpe') throw new GlmError('train', `option '--vocab-size' applies to --tokenizer bpe only (got --tokenizer ${tokenizerKind})`);
  const model = Object.fromEntries(
    Object.entries({ nLayer: o.layers, nHead: o.heads, nEmbd: o.embd, blockSize: o.block, dropout: o.dropout, positional: o.positional }).filter(([, v]) => v !== undefined),
  );
  return {
    out: o.out,
    files,
    preset: o.preset as TrainOptions['preset'],
    objective: o.objective as TrainOptions['objective'],
    resume: o.resume ?? false,
    model,
    tokenizer: tokenizerKind === undefined ? undefined
      : tokenizerKind === 'bpe' ? { kind: 'bpe', vocabSize: o.vocabSize ?? 4096 } : { kind: tokenizerKind as 'char' | 'gpt2' },
    train: {
      steps: o.steps, batchSize: o.batch, gradAccum: o.gradAccum, lr: o.lr, minLr: o.minLr, warmupSteps: o.warmup,
      weightDecay: o.weightDecay, gradClip: o.gradClip, evalInterval: o.evalInterval, evalIters: o.evalIters, seed: o.seed,
      device: o.device, autocast: o.autocast, sampleTokens: o.sampleTokens,
    },
  };
}

function oneLine(text: string, max = 160): string {
  const flat = JSON.stringify(text.length > max ? text.slice(0, max) + '…' : text);
  return flat;
}

/** Runs `glm train`; resolves to the process exit code. */
export async function trainCommand(files: string[], o: TrainCliOptions): Promise<number> {
  const options = toTrainOptions(files, o);
  const controller = new AbortController();
  let signalName: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalName) {
      console.error(`\nglm train: second ${sig}: exiting without a new checkpoint (the last one is intact)`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    signalName = sig;
    console.error(`\nglm train: ${sig}: finishing this step and writing a checkpoint (again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let progress: Progress | null = null;
  const onEvent = (e: TrainEvent): void => {
    if (e.type === 'step') {
      progress ??= createProgress(e.steps, e.step - 1);
      progress.update(e.step, e);
    } else if (e.type === 'eval') {
      const parts = Object.keys(e.parts).length ? ` (${Object.entries(e.parts).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')})` : '';
      const line = `step ${e.step}: val loss ${e.valLoss.toFixed(4)}${parts}, perplexity ${e.perplexity.toFixed(2)}` +
        (e.trainLoss !== null ? `, train loss ${e.trainLoss.toFixed(4)}` : '') + (e.sample ? `\n  sample: ${oneLine(e.sample)}` : '');
      if (progress) progress.log(line);
      else console.log(line);
    }
  };
  try {
    const result = await train(options, onEvent, (line) => (progress ? progress.log(line) : console.log(line)), controller.signal);
    (progress as Progress | null)?.stop();
    if (result.stoppedBy === 'signal') {
      console.log(`stopped at step ${result.step}; checkpoint in ${result.dir} (continue with --resume)`);
      return signalName === 'SIGINT' ? 130 : 143;
    }
    console.log(`done: ${result.step} steps, val loss ${result.lastValLoss?.toFixed(4) ?? '-'}; run directory ${result.dir}`);
    return 0;
  } finally {
    (progress as Progress | null)?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
