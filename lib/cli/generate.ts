/**
 * `glm generate DIR --prompt "..."`: streams a trained run's continuation of a prompt to stdout.
 * `glm chat DIR`: reads stdin line by line, each line a prompt, and prints each continuation. Ctrl-C
 * stops the generation in progress (a second one, or one while waiting for input, exits).
 *
 * Both take `--logit-bias ID=VALUE` (added to token ID's logit; VALUE -inf or <= -100 bans it) and
 * `--ban TEXT` (bans every token id that TEXT encodes to, special-token strings included), each
 * repeatable; a --ban wins over a --logit-bias of the same id.
 */
import * as path from 'path';
import * as readline from 'readline';
import { InvalidArgumentError } from 'commander';
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
  /** --logit-bias ID=VALUE, in the order given. */
  logitBias?: [number, number][];
  /** --ban TEXT, in the order given. */
  ban?: string[];
}

/**
 * Parses one `--logit-bias ID=VALUE` (ID a non-negative integer; VALUE a number, or -inf /
 * -infinity to ban) and appends it to the earlier ones.
 */
export function logitBiasOption(v: string, prev: [number, number][] = []): [number, number][] {
  const m = /^\s*(\d+)\s*=\s*(\S+)\s*$/.exec(v);
  const id = m ? Number(m[1]) : NaN;
  const value = m ? (/^-inf(inity)?$/i.test(m[2]) ? -Infinity : Number(m[2])) : NaN;
  if (!m || !Number.isSafeInteger(id) || !(value === -Infinity || Number.isFinite(value)))
    throw new InvalidArgumentError(`expected ID=VALUE for --logit-bias (a token id, then a number or -inf), got ${JSON.stringify(v)}`);
  return [...prev, [id, value]];
}

/**
 * The token ids `--ban` texts encode to (special-token strings such as "<|endoftext|>" give their
 * special id). A text of several tokens bans each of them anywhere, not just the sequence: with a
 * character tokenizer `--ban the` bans t, h and e. With BPE the same word has other encodings
 * (" the", "The", "th"+"e" in other contexts), which stay allowed.
 */
export function banIds(tokenizer: Tokenizer, texts: readonly string[]): number[] {
  const ids = new Set<number>();
  for (const t of texts) {
    if (t === '') throw new GlmError('generate', "option '--ban': expected a non-empty text, got an empty string");
    for (const id of tokenizer.encode(t, { specials: 'all' })) ids.add(id);
  }
  return [...ids];
}

/** `opts` with the ids of the `--ban` texts banned (over any --logit-bias of the same id). */
export function withBans(opts: GenerateOptions, tokenizer: Tokenizer, texts: readonly string[] | undefined): GenerateOptions {
  if (!texts || texts.length === 0) return opts;
  const bias = new Map(opts.logitBias instanceof Map ? opts.logitBias : Object.entries(opts.logitBias ?? {}).map(([k, v]) => [Number(k), v]));
  for (const id of banIds(tokenizer, texts)) bias.set(id, -Infinity);
  return { ...opts, logitBias: bias };
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
    .option('--logit-bias <id=value>', "add value to token id's logit (-inf or <= -100 bans it; repeatable)", logitBiasOption)
    .option('--ban <text>', 'never generate the tokens that text encodes to (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--autocast <mode>', 'bf16 | none (default none)');
}

/**
 * Maps CLI options to GenerateOptions (absent ones keep the library's defaults). `--ban` needs the
 * run's tokenizer: {@link withBans} adds it once the run is loaded.
 */
export function toGenerateOptions(o: GenerateCliOptions): GenerateOptions {
  if (o.autocast !== undefined && o.autocast !== 'bf16' && o.autocast !== 'none')
    throw new GlmError('generate', `option '--autocast': expected bf16 or none, got ${JSON.stringify(o.autocast)}`);
  const picked = {
    maxTokens: o.maxTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP,
    repetitionPenalty: o.repetitionPenalty, frequencyPenalty: o.frequencyPenalty, presencePenalty: o.presencePenalty,
    seed: o.seed, stop: o.stop, stopOnEos: o.eos, autocast: o.autocast === 'bf16' ? 'bf16' : undefined,
    // A later --logit-bias of the same id wins.
    logitBias: o.logitBias?.length ? new Map(o.logitBias) : undefined,
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
  const parsed = toGenerateOptions(o);
  const { model, tokenizer } = loadRun(dir, o.device ?? 'cpu');
  let opts: GenerateOptions;
  try {
    opts = withBans(parsed, tokenizer, o.ban);
  } catch (err) {
    model.dispose();
    throw err;
  }
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
  if (o.logitBias?.length || o.ban?.length) throw new GlmError('generate', '--logit-bias and --ban apply to --prompt (a GPT run) and glm chat, not to --infill');
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
  const parsed = toGenerateOptions(o);
  const { model, tokenizer } = loadRun(dir, o.device ?? 'cpu');
  let opts: GenerateOptions;
  try {
    opts = withBans(parsed, tokenizer, o.ban);
  } catch (err) {
    model.dispose();
    throw err;
  }
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
