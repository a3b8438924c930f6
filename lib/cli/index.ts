#!/usr/bin/env node
/**
 * The `glm` command line. Subcommands live in their own files; this one wires them to commander.
 */
import { Command } from 'commander';

import { benchCommand } from './bench';
import { infoCommand } from './info';

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
  program
    .command('bench')
    .description('time the core kernels (GEMM, attention, cross-entropy) on a device')
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--quick', 'fewer repetitions')
    .option('--json', 'print JSON')
    .action((opts) => benchCommand(opts));
  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`glm: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
