/**
 * The model of a run directory, whatever its kind: a GPT (objective causal) or an Encoder (objectives
 * mlm+nsp and glm). Built from config.json, its weights saved to and read from model.safetensors
 * (GPT: GPT-2's names in HF's layout, see modelFile.ts; Encoder: our names and layout).
 */
import { GlmError } from '../errors';
import { loadTensors, saveTensorsSync } from '../io/tensors';
import { Encoder, EncoderConfig } from '../models/encoder';
import { GPT, GPTConfig } from '../models/gpt';
import { scope } from '../scope';
import { loadModelWeights, saveModelWeights } from './modelFile';
import type { ObjectiveName } from './objectives/types';

/** A run's model. */
export type RunModel = GPT | Encoder;

/** Builds the model a run's config describes (fresh weights from `seed`). */
export function createRunModel(objective: ObjectiveName, model: GPTConfig | EncoderConfig, seed: number, device: string): RunModel {
  if (objective === 'causal') return new GPT(model as GPTConfig, { seed, device });
  const arch = objective === 'glm' ? 'glm' : 'bert';
  if ((model as EncoderConfig).arch !== arch)
    throw new GlmError('run', `config.json: objective '${objective}' needs model.arch '${arch}', found ${JSON.stringify((model as EncoderConfig).arch)}`);
  return new Encoder(model as EncoderConfig, { seed, device });
}

/** Writes `model`'s weights to `file` atomically, tagged with the step. */
export function saveRunWeights(file: string, model: RunModel, step: number): void {
  if (model instanceof GPT) saveModelWeights(file, model, step);
  else saveTensorsSync(file, model.stateDict(), { format: 'pt', step: String(step) });
}

/** Loads weights written by saveRunWeights into `model`. */
export function loadRunWeights(file: string, model: RunModel): void {
  if (model instanceof GPT) loadModelWeights(file, model);
  else scope(() => model.loadStateDict(loadTensors(file, { device: model.device }).tensors));
}
