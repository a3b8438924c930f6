/**
 * `glm generate DIR --prompt "..."`: streams a trained run's continuation of a prompt to stdout.
 * `glm chat DIR`: reads stdin line by line, each line a prompt, and prints each continuation. Ctrl-C
 * stops the generation in progress (a second one, or one while waiting for input, exits).
 */
import * as path from 'path';
import * as readline from 'readline';
import type { Command } from 'commander';

import { generate, GenerateOptions } from '../generate';
import type { GPT } from '../models/gpt';
import { infill } from '../generate/infill';
import { Encoder } from '../models/encoder';
import { loadAnyRunModel, loadRunModel } from '../train/evaluate';
import { runPath } from '../train/runDir';
import { loadRunTokenizer } from '../train/tokenizerSetup';
import type { Tokenizer } from '../tokenizer';
import { GlmError } from '../errors';
import { intOption, numOption } from './train';

/** Options as commander parses them. */
export interface GenerateCliOptions {
  prompt?: string;
  infill?: string;
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  seed?: number;
  stop?: string[];
  eos?: boolean;
  device?: string;
  autocast?: string;
}

/** Declares the sampling options shared by generate and chat on `cmd`. */
export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .option('--max-tokens <n>', 'most tokens to generate', intOption('max-tokens'), 256)
    .option('--temperature <x>', 'sampling temperature (0: greedy)', numOption('temperature'))
    .option('--top-k <n>', 'keep the k most likely tokens (0: all)', intOption('top-k'))
    .option('--top-p <x>', 'nucleus sampling threshold in (0, 1]', numOption('top-p'))
    .option('--min-p <x>', 'drop tokens below min-p times the most likely one', numOption('min-p'))
    .option('--repetition-penalty <x>', 'penalty on tokens already seen (1: none)', numOption('repetition-penalty'))
    .option('--frequency-penalty <x>', 'subtracted per earlier occurrence', numOption('frequency-penalty'))
    .option('--presence-penalty <x>', 'subtracted once from tokens already seen', numOption('presence-penalty'))
    .option('--seed <n>', 'seed of the draws', intOption('seed'))
    .option('--stop <s>', 'stop at this string (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-eos', 'do not stop at the end-of-text token')
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--autocast <mode>', 'bf16 | none (default none)');
}

/** Maps CLI options to GenerateOptions (absent ones keep the library's defaults). */
export function toGenerateOptions(o: GenerateCliOptions): GenerateOptions {
  if (o.autocast !== undefined && o.autocast !== 'bf16' && o.autocast !== 'none')
    throw new GlmError('generate', `option '--autocast': expected bf16 or none, got ${JSON.stringify(o.autocast)}`);
  const picked = {
    maxTokens: o.maxTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP,
    repetitionPenalty: o.repetitionPenalty, frequencyPenalty: o.frequencyPenalty, presencePenalty: o.presencePenalty,
    seed: o.seed, stop: o.stop, stopOnEos: o.eos, autocast: o.autocast === 'bf16' ? 'bf16' : undefined,
  };
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as GenerateOptions;
}

function loadRun(dir: string, device: string): { model: GPT; tokenizer: Tokenizer } {
  const full = path.resolve(dir);
  const { model } = loadRunModel(full, device);
  try {
    return { model, tokenizer: loadRunTokenizer(runPath(full, 'tokenizer')) };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

const warn = (message: string): void => {
  process.stderr.write(`glm: warning: ${message}\n`);
};

/** Streams one continuation to stdout; resolves when done (rejects with an AbortError when aborted). */
async function stream(model: GPT, tokenizer: Tokenizer, prompt: string, opts: GenerateOptions): Promise<void> {
  for await (const piece of generate(model, tokenizer, prompt, { ...opts, onWarning: warn })) process.stdout.write(piece);
  process.stdout.write('\n');
}

/** Runs `glm generate`; resolves to the exit code. */
export async function generateCommand(dir: string, o: GenerateCliOptions): Promise<number> {
  if (o.infill !== undefined) {
    if (o.prompt !== undefined) throw new GlmError('generate', "give either --prompt (a GPT continues it) or --infill (a GLM fills its blanks), not both");
    return infillCommand(dir, o);
  }
  if (o.prompt === undefined) throw new GlmError('generate', "option '--prompt <text>' is required (or --infill \"text with [MASK]\" for a GLM run)");
  const opts = toGenerateOptions(o);
  const { model, tokenizer } = loadRun(dir, o.device ?? 'cpu');
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  try {
    await stream(model, tokenizer, o.prompt, { ...opts, signal: controller.signal });
    return 0;
  } catch (err) {
    if (controller.signal.aborted) {
      process.stdout.write('\n');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    model.dispose();
  }
}

/** `glm generate DIR --infill "text with [MASK]"`: prints each blank's fill, then the filled text. */
async function infillCommand(dir: string, o: GenerateCliOptions): Promise<number> {
  const full = path.resolve(dir);
  const { model } = loadAnyRunModel(full, o.device ?? 'cpu');
  try {
    if (!(model instanceof Encoder) || model.config.arch !== 'glm')
      throw new GlmError('generate', `--infill needs a GLM run (glm train --objective glm); '${full}' holds ${model.describeConfig()}`);
    const g = toGenerateOptions(o);
    const r = await infill(model, loadRunTokenizer(runPath(full, 'tokenizer')), o.infill!, {
      maxTokens: o.maxTokens, temperature: g.temperature, topK: g.topK, topP: g.topP, seed: g.seed, autocast: g.autocast,
    });
    r.fills.forEach((f, i) => console.log(`[${i + 1}] ${JSON.stringify(f)}${r.finish[i] === 'end' ? '' : ` (stopped: ${r.finish[i]})`}`));
    console.log(r.text);
    return 0;
  } finally {
    model.dispose();
  }
}

/** Runs `glm chat`: one continuation per line of stdin; resolves to the exit code at the end of input. */
export async function chatCommand(dir: string, o: GenerateCliOptions): Promise<number> {
  const opts = toGenerateOptions(o);
  const { model, tokenizer } = loadRun(dir, o.device ?? 'cpu');
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  let controller: AbortController | null = null;
  const onSignal = (): void => {
    if (controller && !controller.signal.aborted) controller.abort();
    else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  try {
    for await (const line of rl) {
      if (line.trim() === '') continue;
      controller = new AbortController();
      try {
        await stream(model, tokenizer, line, { ...opts, signal: controller.signal });
      } catch (err) {
        if (!controller.signal.aborted) throw err;
        process.stdout.write('\n');
      }
      controller = null;
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    rl.close();
    model.dispose();
  }
}

/** Adds `generate` and `chat` to the glm program. */
export function registerGenerateCommands(program: Command): void {
  addSamplingOptions(
    program
      .command('generate')
      .description('stream the continuation of a prompt by a trained run')
      .argument('<dir>', 'run directory written by glm train')
      .option('--prompt <text>', 'the text to continue (a GPT run)')
      .option('--infill <text>', 'fill each [MASK] of the text (a GLM run: glm train --objective glm)'),
  ).action(async (dir: string, opts: GenerateCliOptions) => {
    process.exitCode = await generateCommand(dir, opts);
  });
  addSamplingOptions(
    program
      .command('chat')
      .description('continue each line read from stdin with a trained run')
      .argument('<dir>', 'run directory written by glm train'),
  ).action(async (dir: string, opts: GenerateCliOptions) => {
    process.exitCode = await chatCommand(dir, opts);
  });
}
