/**
 * The run directory a training run owns: its file names in one place, what config.json and
 * state.json hold, and the check that a directory to resume belongs to a compatible run.
 */
import * as fs from 'fs';
import * as path from 'path';

import { GlmError } from '../errors';
import type { EncoderConfig } from '../models/encoder';
import type { GPTConfig } from '../models/gpt';
import type { ObjectiveName } from './objectives/types';
import type { RandomState } from '../random';
import type { AdamWStateInfo } from '../optim/adamw';
import { RESUME_INVARIANT, TrainSettings } from './settings';

/** The files of a run directory. */
export const RUN_FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  tokenizer: 'tokenizer.json',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
  metrics: 'metrics.jsonl',
  plotSvg: 'loss.svg',
  plotPng: 'loss.png',
  /** Token shards of the corpus, reused while the sources and tokenizer are unchanged. */
  data: 'data',
} as const;

export function runPath(dir: string, file: keyof typeof RUN_FILES): string {
  return path.join(dir, RUN_FILES[file]);
}

/** Version of the run-directory layout; bumped when a reader could misread an older one. */
export const RUN_FORMAT = 1;

/** config.json: everything that defines the run. */
export interface RunConfig {
  format: number;
  /** The preset the model started from (its config below may override parts of it). */
  preset: string;
  /** What the model is trained on; absent in runs written before encoders: 'causal'. */
  objective?: ObjectiveName;
  /** A GPT's config (causal) or an Encoder's (mlm+nsp: arch 'bert', glm: arch 'glm'). */
  model: GPTConfig | EncoderConfig;
  tokenizer: { kind: string; vocabSize: number };
  data: { sources: string[] };
  train: TrainSettings;
}

/** state.json: where the run is, for an exact resume. */
export interface RunState {
  step: number;
  tokensSeen: number;
  elapsedMs: number;
  sampler: unknown;
  optimizer: AdamWStateInfo;
  lastValLoss: number | null;
}

/** Reads and parses a JSON file of a run, with an error naming the file. */
export function readJson<T>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new GlmError('run', `cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new GlmError('run', `'${file}' is not valid JSON (${(err as Error).message})`);
  }
}

/** True when `dir` holds a checkpoint (config.json and state.json). */
export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(runPath(dir, 'config')) && fs.existsSync(runPath(dir, 'state'));
}

/**
 * The differences between a saved run's config and the one a resume asks for, as readable lines;
 * empty when the resume continues the same run. `steps` and the eval cadence may change.
 */
export function incompatibilities(saved: RunConfig, wanted: RunConfig): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const objective = (c: RunConfig) => c.objective ?? 'causal';
  if (objective(saved) !== objective(wanted)) out.push(`objective: saved ${objective(saved)}, requested ${objective(wanted)}`);
  const savedModel = saved.model as unknown as Record<string, unknown>, wantedModel = wanted.model as unknown as Record<string, unknown>;
  for (const k of Object.keys({ ...savedModel, ...wantedModel })) {
    if (!same(savedModel[k], wantedModel[k])) out.push(`model.${k}: saved ${JSON.stringify(savedModel[k])}, requested ${JSON.stringify(wantedModel[k])}`);
  }
  if (!same(saved.tokenizer, wanted.tokenizer)) out.push(`tokenizer: saved ${JSON.stringify(saved.tokenizer)}, requested ${JSON.stringify(wanted.tokenizer)}`);
  if (!same(saved.data.sources, wanted.data.sources)) out.push(`data sources: saved ${JSON.stringify(saved.data.sources)}, requested ${JSON.stringify(wanted.data.sources)}`);
  for (const k of RESUME_INVARIANT) {
    if (!same(saved.train[k], wanted.train[k])) out.push(`${k}: saved ${JSON.stringify(saved.train[k])}, requested ${JSON.stringify(wanted.train[k])}`);
  }
  return out;
}

export type { RandomState };
