/**
 * One training run from a user's options to a run directory: resolve the corpus, build or reload the
 * tokenizer and the token shard, build or reload the model and optimizer, then drive the loop
 * (trainer.ts) with checkpoints written as one unit (checkpoint.ts). A new run refuses a directory
 * that already holds a checkpoint (nothing is overwritten); `resume` continues one, refusing an
 * incompatible config.
 */
import * as fs from 'fs';
import * as path from 'path';

import { ensureShard, resolveCorpus, splitTokens } from '../data';
import type { Corpus } from '../data';
import { GlmError } from '../errors';
import { generateText } from '../generate';
import { writeJsonAtomic } from '../io/atomic';
import { MetricsLog, readMetrics } from '../io/metrics';
import { lossSeriesFromMetrics, writeLossPlot } from '../io/plot';
import { loadTensors, saveTensorsSync } from '../io/tensors';
import { encoderConfig, EncoderConfig, EncoderPresetName, ENCODER_PRESETS } from '../models/encoder';
import { GPT, gptConfig, GPTConfig, GPTPresetName, GPT_PRESETS } from '../models/gpt';
import { AdamW } from '../optim/adamw';
import type { Tokenizer } from '../tokenizer';
import { scope } from '../scope';
import { commitCheckpoint, recoverCheckpoint } from './checkpoint';
import { glmEvalSample } from './glmSample';
import { buildObjective } from './objectives/build';
import { encoderSpecials, glmSpecials } from './objectives/specials';
import { OBJECTIVE_NAMES, ObjectiveName, TrainObjective } from './objectives/types';
import { createRunModel, loadRunWeights, saveRunWeights } from './runModel';
import { hasCheckpoint, incompatibilities, readJson, RUN_FORMAT, RunConfig, runPath, RunState } from './runDir';
import { resolveSettings, TrainSettings, TrainSettingsInput } from './settings';
import { buildTokenizer, loadRunTokenizer, TokenizerChoice } from './tokenizerSetup';
import { LoopResult, runLoop, TrainEvent } from './trainer';

/** What `glm train` (or a program) asks for. */
export interface TrainOptions {
  /** The run directory (created when missing). */
  out: string;
  /** Text files and/or directories; none: the default corpus. */
  files?: string[];
  /** A GPT preset (objective causal) or an Encoder preset (mlm+nsp, glm); default tiny. */
  preset?: GPTPresetName | EncoderPresetName;
  /** 'causal' (a GPT, the default), 'mlm+nsp' (a BERT-style encoder) or 'glm' (GLM blank infilling). */
  objective?: ObjectiveName;
  /** Architecture overrides on the preset (vocabSize comes from the tokenizer). */
  model?: Partial<Omit<GPTConfig, 'vocabSize'>>;
  tokenizer?: TokenizerChoice;
  /** Continue the checkpoint in `out`. */
  resume?: boolean;
  train?: TrainSettingsInput;
}

/** Messages for the user that are not loop events (what was found, built, reused). */
export type InfoSink = (line: string) => void;

export interface TrainResult extends LoopResult {
  dir: string;
  config: RunConfig;
}

const op = 'train';

function checkObjective(objective: unknown): ObjectiveName {
  if (typeof objective !== 'string' || !(OBJECTIVE_NAMES as readonly string[]).includes(objective))
    throw new GlmError(op, `unknown objective ${JSON.stringify(objective)}; expected one of ${OBJECTIVE_NAMES.join(', ')}`, {
      argument: 'objective', expected: OBJECTIVE_NAMES.join(' | '), actual: String(objective),
    });
  return objective as ObjectiveName;
}

function checkPreset(preset: unknown, objective: ObjectiveName): string {
  const names = Object.keys(objective === 'causal' ? GPT_PRESETS : ENCODER_PRESETS);
  if (typeof preset !== 'string' || !names.includes(preset))
    throw new GlmError(op, `unknown preset ${JSON.stringify(preset)}; expected one of ${names.join(', ')}`, {
      argument: 'preset', expected: names.join(' | '), actual: String(preset),
    });
  return preset as string;
}

/** The model config of a new run: the preset, the user's overrides and the tokenizer's vocabulary. */
function modelConfigOf(objective: ObjectiveName, preset: string, overrides: Partial<Omit<GPTConfig, 'vocabSize'>>, vocabSize: number): GPTConfig | EncoderConfig {
  if (objective === 'causal') return gptConfig(preset as GPTPresetName, { ...overrides, vocabSize });
  const { positional, ropeBase, ...rest } = overrides;
  if (positional !== undefined || ropeBase !== undefined)
    throw new GlmError(op, `--positional applies to GPT models (objective causal); an encoder (objective ${objective}) has learned positions`);
  return encoderConfig(preset as EncoderPresetName, { ...rest, arch: objective === 'glm' ? 'glm' : 'bert', vocabSize });
}

/** Source paths as saved in config.json (absolute, so a resume from another cwd finds the same corpus). */
function sourcesOf(corpus: Corpus): string[] {
  return corpus.isDefault ? ['<default corpus: State of the Union addresses>'] : corpus.files.map((f) => f.path);
}

/** Trains per `options`, reporting through `onEvent`/`info`; stops cleanly when `signal` aborts. */
export async function train(options: TrainOptions, onEvent: (e: TrainEvent) => void = () => {}, info: InfoSink = () => {}, signal?: AbortSignal): Promise<TrainResult> {
  const dir = path.resolve(options.out);
  const resuming = options.resume ?? false;
  if (resuming && !hasCheckpoint(dir)) throw new GlmError(op, `--resume: '${dir}' holds no checkpoint (config.json and state.json)`);
  if (!resuming && hasCheckpoint(dir))
    throw new GlmError(op, `'${dir}' already holds a run; pass --resume to continue it or choose another --out (nothing was overwritten)`);
  if (resuming) {
    const how = recoverCheckpoint(dir);
    if (how !== 'clean') info(`recovered an interrupted checkpoint write (${how})`);
  }
  const saved = resuming ? readJson<RunConfig>(runPath(dir, 'config')) : null;

  // On resume the saved run is the base; options given now must agree with it (checked below).
  const objective = checkObjective(options.objective ?? saved?.objective ?? 'causal');
  const preset = checkPreset(options.preset ?? saved?.preset ?? 'tiny', objective);
  const given = Object.fromEntries(Object.entries(options.train ?? {}).filter(([, v]) => v !== undefined));
  const settings: TrainSettings = resolveSettings(preset, saved ? { ...saved.train, ...given } : given);
  if (saved && settings.steps !== saved.train.steps)
    info(`steps: ${saved.train.steps} -> ${settings.steps}; the learning-rate schedule follows the new total from here on`);
  const corpus = await resolveCorpus(options.files?.length ? options.files : undefined);
  info(`corpus: ${corpus.isDefault ? 'the default corpus (State of the Union addresses)' : `${corpus.files.length} file(s)`}, ` +
    `${(corpus.totalBytes / 1e6).toFixed(1)} MB${corpus.skipped.length ? `, ${corpus.skipped.length} file(s) skipped` : ''}`);
  fs.mkdirSync(dir, { recursive: true });

  const tokenizer: Tokenizer = resuming ? loadRunTokenizer(runPath(dir, 'tokenizer')) : await buildTokenizer(options.tokenizer ?? { kind: 'char' }, corpus, info);
  const asksModel = options.preset !== undefined || Object.keys(options.model ?? {}).length > 0;
  if (objective === 'mlm+nsp') encoderSpecials(tokenizer);  // a tokenizer without [CLS], [SEP], [MASK], [PAD] fails here, before any work
  if (objective === 'glm') glmSpecials(tokenizer);
  const model = saved && !asksModel ? saved.model : modelConfigOf(objective, preset, options.model ?? {}, tokenizer.vocabSize);
  const config: RunConfig = {
    format: RUN_FORMAT,
    preset,
    ...(objective === 'causal' ? {} : { objective }),
    model: { ...model },
    tokenizer: { kind: options.tokenizer?.kind ?? tokenizer.kind, vocabSize: tokenizer.vocabSize },
    data: { sources: sourcesOf(corpus) },
    train: settings,
  };
  if (saved) {
    const diffs = incompatibilities(saved, config);
    if (diffs.length) throw new GlmError(op, `--resume: the run in '${dir}' has another config (nothing was changed):\n  ${diffs.join('\n  ')}`);
  }

  const shardFile = path.join(dir, 'data', 'tokens.bin');
  fs.mkdirSync(path.dirname(shardFile), { recursive: true });
  const { shard, rebuilt } = await ensureShard(shardFile, corpus, tokenizer);
  info(`tokens: ${shard.length.toLocaleString('en-US')} (${rebuilt ? 'tokenized now' : 'reused the shard'}; vocab ${tokenizer.vocabSize})`);
  const split = splitTokens(shard.length, { valFraction: settings.valFraction });

  const gpt = createRunModel(objective, model, settings.seed, settings.device);
  let objectiveImpl: TrainObjective;
  try {
    objectiveImpl = buildObjective(objective, gpt, tokenizer, shard.tokens, split, settings);
  } catch (err) {
    gpt.dispose();
    throw err;
  }
  const optimizer = new AdamW(gpt.parameterGroups(settings.weightDecay), { lr: settings.lr, betas: [settings.beta1, settings.beta2], weightDecay: settings.weightDecay });
  let start = { step: 0, tokensSeen: 0, elapsedMs: 0, lastValLoss: null as number | null };
  if (resuming) {
    const state = readJson<RunState>(runPath(dir, 'state'));
    loadRunWeights(runPath(dir, 'model'), gpt);
    scope(() => optimizer.loadState(loadTensors(runPath(dir, 'optimizer'), { device: settings.device }).tensors, state.optimizer));
    objectiveImpl.setState(state.sampler);
    start = { step: state.step, tokensSeen: state.tokensSeen, elapsedMs: state.elapsedMs, lastValLoss: state.lastValLoss };
    info(`resuming at step ${state.step} of ${settings.steps}`);
  } else {
    writeJsonAtomic(runPath(dir, 'config'), config);
    tokenizer.save(runPath(dir, 'tokenizer'));
  }
  info(`model: ${objective === 'causal' ? '' : `encoder (${objective}) `}${preset} (${model.nLayer} layers, ${model.nHead} heads, ${model.nEmbd} wide, block ${model.blockSize}), ` +
    `${(gpt.numParameters() / 1e6).toFixed(2)}M parameters on ${settings.device}${settings.autocast === 'bf16' ? ' (bf16 autocast)' : ''}`);

  const metrics = MetricsLog.open(runPath(dir, 'metrics'), resuming ? { keepUpToStep: start.step } : {});
  const plot = (): void => {
    const entries = readMetrics(runPath(dir, 'metrics')).entries;
    writeLossPlot(runPath(dir, 'plotSvg'), runPath(dir, 'plotPng'), lossSeriesFromMetrics(entries), { title: `${preset} on ${corpus.isDefault ? 'the default corpus' : 'your corpus'}` });
  };
  const checkpoint = (step: number, lastValLoss: number | null, tokensSeen: number, elapsedMs: number): void => {
    metrics.sync();
    const state: RunState = { step, tokensSeen, elapsedMs, lastValLoss, sampler: objectiveImpl.getState(), optimizer: optimizer.stateInfo() };
    commitCheckpoint(dir, step, {
      [path.basename(runPath(dir, 'model'))]: (p) => saveRunWeights(p, gpt, step),
      [path.basename(runPath(dir, 'optimizer'))]: (p) => saveTensorsSync(p, optimizer.stateTensors(), { step: String(step) }),
      [path.basename(runPath(dir, 'state'))]: (p) => writeJsonAtomic(p, state),
    });
  };
  try {
    const result = await runLoop(
      {
        objective: objectiveImpl, optimizer, settings,
        // A new line opens the sample (every tokenizer encodes one); the sample runs to its length, past any eos.
        // A GLM fills a blank cut from validation text; a BERT encoder has no sample to show.
        sampleText: async (seed) => {
          const autocast = settings.autocast === 'bf16' ? 'bf16' as const : undefined;
          if (gpt instanceof GPT) return generateText(gpt, tokenizer, '\n', { maxTokens: settings.sampleTokens, temperature: 0.8, seed, stopOnEos: false, autocast });
          if (gpt.config.arch !== 'glm') return '';
          return glmEvalSample(gpt, tokenizer, shard.tokens, split.val[0].start, seed, { maxTokens: Math.min(settings.sampleTokens, 16), autocast });
        },
        checkpoint,
        log: (r) => metrics.append(r as never),
      },
      start,
      (e) => {
        if (e.type === 'eval') plot();
        onEvent(e);
      },
      signal,
    );
    return { ...result, dir, config };
  } finally {
    metrics.close();
    optimizer.dispose();
    gpt.dispose();
  }
}
