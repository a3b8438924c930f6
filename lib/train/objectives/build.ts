/**
 * The objective of a run from its name: the model, the token stream and its train/validation
 * ranges, with the samplers or NSP documents each objective draws from.
 */
import { BatchSampler, documentSeparatorIds } from '../../data';
import type { TokenArray, TokenSplit } from '../../data';
import { isSentenceEnd, segmentDocuments } from '../../data/segments';
import { GlmError } from '../../errors';
import type { Encoder } from '../../models/encoder';
import type { GPT } from '../../models/gpt';
import type { Tokenizer } from '../../tokenizer';
import type { RunModel } from '../runModel';
import { causalObjective } from './causal';
import { glmObjective, glmWindow } from './glm';
import { mlmNspObjective } from './mlmNsp';
import { encoderSpecials, glmSpecials } from './specials';
import type { ObjectiveName, TrainObjective } from './types';

/** The settings an objective reads. */
export interface ObjectiveSettings {
  batchSize: number;
  seed: number;
  autocast: 'bf16' | 'none';
}

/** The objective `objective` of `model` over the train and validation ranges of `tokens`. */
export function buildObjective(objective: ObjectiveName, model: RunModel, tokenizer: Tokenizer, tokens: TokenArray, split: Pick<TokenSplit, 'train' | 'val'>, settings: ObjectiveSettings): TrainObjective {
  const B = settings.batchSize, T = model.config.blockSize, seed = settings.seed;
  const sampler = (ranges: TokenSplit['train'], blockSize: number, s: number, name: string) =>
    new BatchSampler({ tokens, ranges, batchSize: B, blockSize, seed: s, name });
  if (objective === 'causal')
    return causalObjective(model as GPT, sampler(split.train, T, seed, 'training'), sampler(split.val, T, seed + 1, 'validation'), B, settings.autocast);
  if (objective === 'glm') {
    const n = glmWindow(T);
    return glmObjective(model as Encoder, sampler(split.train, n, seed, 'training'), sampler(split.val, n, seed + 1, 'validation'), glmSpecials(tokenizer), B, seed, settings.autocast);
  }
  // A segment may take at most half of the pair's room ([CLS] A [SEP] B [SEP]).
  const ends = new Uint8Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) ends[id] = isSentenceEnd(tokenizer.decode([id])) ? 1 : 0;
  const segOpts = { separator: documentSeparatorIds(tokenizer), endsSentence: (id: number) => ends[id] === 1, maxSegment: Math.floor((T - 3) / 2) };
  const docs = (ranges: TokenSplit['train'], name: string) => {
    let d = segmentDocuments(tokens, ranges, segOpts);
    // A split holding one document (a small corpus, a one-file validation range) is cut into halves at a
    // segment boundary, so that "not next" pairs can still come from elsewhere in the text.
    if (d.length === 1 && d[0].length >= 4) d = [d[0].slice(0, d[0].length >> 1), d[0].slice(d[0].length >> 1)];
    if (d.length < 2) throw new GlmError('train', `--objective mlm+nsp: the ${name} split holds ${d.length} document(s) of too few sentences; next-sentence pairs need at least 2 (give more text or more files)`);
    return d;
  };
  return mlmNspObjective(model as Encoder, docs(split.train, 'training'), docs(split.val, 'validation'), encoderSpecials(tokenizer), B, seed, settings.autocast);
}

