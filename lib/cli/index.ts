#!/usr/bin/env node
/**
 * The `glm` command line. Subcommands live in their own files; this one wires them to commander.
 */
import { Command } from 'commander';

import { GlmError } from '../errors';
import { benchCommand } from './bench';
import { evalCommand } from './eval';
import { registerFinetuneCommand } from './finetune';
import { registerGenerateCommands } from './generate';
import { infoCommand } from './info';
import { addTrainOptions, intOption, trainCommand, TrainCliOptions } from './train';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg = require('../../package.json') as { version: string };

export function buildCli(): Command {
  const program = new Command();
  program
    .name('glm')
    .description('Train, fine-tune and run generative transformer language models on native CPU and CUDA kernels')
    .version(pkg.version)
    .showHelpAfterError();
  program
    .command('info')
    .description('show the build (CPU features, CUDA), devices, threads and memory')
    .option('--json', 'print JSON')
    .action((opts) => infoCommand(opts));
  addTrainOptions(
    program
      .command('train')
      .description('train a GPT (or pretrain an encoder: --objective mlm+nsp | glm) on text files or directories (default: the built-in State of the Union corpus)')
      .argument('[files...]', 'text files and/or directories'),
  ).action(async (files: string[], opts: TrainCliOptions) => {
    process.exitCode = await trainCommand(files, opts);
  });
  program
    .command('eval')
    .description('loss and perplexity of a trained run, on its validation split or on the given files')
    .argument('<dir>', 'run directory written by glm train')
    .argument('[files...]', 'text files and/or directories to evaluate on')
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--batch <n>', 'windows per batch', intOption('batch'))
    .option('--json', 'print JSON')
    .action((dir: string, files: string[], opts) => evalCommand(dir, files, opts));
  program
    .command('bench')
    .description('time the core kernels (GEMM, attention, cross-entropy) on a device')
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--quick', 'fewer repetitions')
    .option('--json', 'print JSON')
    .action((opts) => benchCommand(opts));
  registerFinetuneCommand(program);
  registerGenerateCommands(program);
  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      // Bad input (a GlmError names what was wrong) exits 2; anything unexpected exits 1 (stack with GLM_DEBUG=1).
      if (err instanceof GlmError) {
        console.error(`glm: ${err.message}`);
        process.exit(2);
      }
      console.error(`glm: ${err instanceof Error ? (process.env.GLM_DEBUG ? err.stack : err.message) : String(err)}`);
      process.exit(1);
    });
}
