/**
 * `glm eval` of a fine-tuned classifier run: rebuilds the body from the pretrained config saved in
 * config.json, loads the fine-tuned weights (body and heads), and reports every head — the
 * classifier's accuracy, per-class P/R/F1 and confusion matrix, and the LM head's loss in a
 * multi-task run — on the run's own held-out split (the same split by id hash) or on a JSONL file.
 */
import * as fs from 'fs';
import * as path from 'path';

import { checkKnownLabels, readClassifyJsonl, splitByIdHash } from '../data/classify';
import { GlmError } from '../errors';
import { loadTensors } from '../io/tensors';
import { SequenceClassifier } from '../models/classifier';
import { scope } from '../scope';
import { recoverCheckpoint } from './checkpoint';
import { encodeExamples } from './classifyInputs';
import { ClassifierRunConfig, CLASSIFY_TASK, DEFAULT_DATA, evaluateHeads, FinetuneEval, loadLabeledData } from './finetune';
import { readJson, runPath } from './runDir';
import { createRunModel } from './runModel';
import type { ObjectiveName } from './objectives/types';
import { loadRunTokenizer } from './tokenizerSetup';

/** True when `dir` holds a fine-tuned classifier run. */
export function isClassifierRun(dir: string): boolean {
  const file = runPath(dir, 'config');
  if (!fs.existsSync(file)) return false;
  return (readJson<{ kind?: string }>(file).kind ?? null) === 'classifier';
}

/** Loads a fine-tuned classifier run (body + heads) onto `device`. */
export function loadClassifierRun(dir: string, device: string): { model: SequenceClassifier; config: ClassifierRunConfig } {
  recoverCheckpoint(dir);
  const config = readJson<ClassifierRunConfig>(runPath(dir, 'config'));
  const body = createRunModel(config.base.objective as ObjectiveName, config.base.model as never, config.finetune.seed, device);
  let model: SequenceClassifier;
  try {
    model = new SequenceClassifier(body, config.tasks, { seed: config.finetune.seed });
  } catch (err) {
    body.dispose();
    throw err;
  }
  try {
    scope(() => model.loadStateDict(loadTensors(runPath(dir, 'model'), { device }).tensors));
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, config };
}

/** Every head of the run in `dir`, on its held-out split or on `file` (a JSONL of labeled texts). */
export async function evaluateClassifierRun(dir: string, opts: { file?: string; device?: string; batchSize?: number } = {}): Promise<FinetuneEval & { source: string }> {
  const full = path.resolve(dir);
  const { model, config } = loadClassifierRun(full, opts.device ?? 'cpu');
  try {
    const tokenizer = loadRunTokenizer(runPath(full, 'tokenizer'));
    const labels = config.tasks.find((t) => t.name === CLASSIFY_TASK)?.labels;
    if (!labels) throw new GlmError('eval', `'${full}': config.json has no '${CLASSIFY_TASK}' task`);
    const s = config.finetune;
    let examples, source: string;
    if (opts.file) {
      examples = readClassifyJsonl(opts.file, { minClasses: 1 });
      checkKnownLabels(examples, labels, opts.file);
      source = opts.file;
    } else {
      const data = loadLabeledData(config.data.file);
      examples = splitByIdHash(data.examples, { testFraction: s.testFraction, salt: config.data.salt }).test;
      source = `held-out split of ${config.data.file ?? DEFAULT_DATA}`;
    }
    const rows = encodeExamples(examples, labels, model.body, tokenizer, { maxLength: s.maxLength, truncate: s.truncate, source });
    const result = await evaluateHeads(model, tokenizer, rows, labels, { batchSize: opts.batchSize ?? s.batchSize, lmWeight: s.lmWeight }, rows.filter((r) => r.truncated).length);
    return { ...result, source };
  } finally {
    model.dispose();
  }
}
