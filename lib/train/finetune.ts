/**
 * `glm finetune DIR --task classify`: a classification head on a pretrained run's body (GPT, BERT
 * encoder or GLM encoder), trained on labeled texts (a JSONL file, or by default SpamAssassin's spam
 * vs ham) with a fixed held-out split by message id, the body trainable or frozen, optionally beside
 * the body's own LM objective (multi-task, weighted). Reports accuracy, per-class precision / recall /
 * F1 and the confusion matrix on the held-out split, and saves the fine-tuned run (config.json,
 * model.safetensors, tokenizer.json, metrics.jsonl, report.json, report.txt) as one checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';

import { noGrad } from '../autograd';
import { DEFAULT_SPLIT_SALT, emailView, labelSet, loadSpamAssassin, readClassifyJsonl, splitByIdHash } from '../data/classify';
import type { LabeledText } from '../data/classify';
import { argError, describe, GlmError } from '../errors';
import { classificationReport, ClassificationReport, formatReport } from '../eval';
import { writeJsonAtomic, writeFileAtomic } from '../io/atomic';
import { MetricsLog } from '../io/metrics';
import { saveTensorsSync } from '../io/tensors';
import { SequenceClassifier } from '../models/classifier';
import { add, scale } from '../ops/elementwise';
import { softmaxCrossEntropy } from '../ops/crossEntropy';
import { AdamW } from '../optim/adamw';
import { clipGradNorm } from '../optim/clip';
import { cosineWithWarmup } from '../optim/schedule';
import { Random } from '../random';
import { scope } from '../scope';
import { Tensor } from '../tensor';
import type { Tokenizer } from '../tokenizer';
import { commitCheckpoint } from './checkpoint';
import { encodeExamples, EncodedText, padRows } from './classifyInputs';
import { loadAnyRunModel } from './evaluate';
import { multiTaskLmLoss } from './finetuneLm';
import { dropoutSeed } from './trainer';
import { hasCheckpoint, RUN_FORMAT, runPath } from './runDir';
import { loadRunTokenizer } from './tokenizerSetup';

/** The task name of the classification head. */
export const CLASSIFY_TASK = 'classify';
/** The data set used when no --data is given. */
export const DEFAULT_DATA = 'spam-assassin';

/** What `glm finetune` (or a program) asks for. */
export interface FinetuneOptions {
  /** The pretrained run (glm train --out DIR). */
  dir: string;
  /** Where the fine-tuned run goes (default DIR/classify). */
  out?: string;
  /** Only 'classify' for now. */
  task?: 'classify';
  /** A JSONL file of {"text", "label"} lines; default: SpamAssassin spam vs ham. */
  data?: string;
  /** Train the head only (the body stays as pretrained). */
  freeze?: boolean;
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate (default 3e-4, or 3e-3 with a frozen body). */
  lr?: number;
  weightDecay?: number;
  /** Tokens per input, framing included (default and at most the model's block size). */
  maxLength?: number;
  /** Cut texts longer than maxLength instead of failing (default true for the built-in data, false for a file). */
  truncate?: boolean;
  /** Multi-task: weight of the body's LM objective beside the classification loss (0: classification only). */
  lmWeight?: number;
  /** Share of the examples held out (by a hash of their id). Default 0.2. */
  testFraction?: number;
  seed?: number;
  device?: string;
  /** Use at most this many training examples (a quick run); the test split is kept whole. */
  maxTrain?: number;
}

/** The settings a fine-tuned run was made with (config.json "finetune"). */
export interface FinetuneSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  freeze: boolean;
  lmWeight: number;
  maxLength: number;
  truncate: boolean;
  testFraction: number;
  seed: number;
  maxTrain: number | null;
}

/** config.json of a fine-tuned run. */
export interface ClassifierRunConfig {
  format: number;
  kind: 'classifier';
  /** The pretrained run it started from and that run's config. */
  base: { dir: string; objective: string; preset: string; model: unknown };
  tokenizer: { kind: string; vocabSize: number };
  tasks: { name: string; labels: string[] }[];
  data: { source: string; file: string | null; salt: string };
  finetune: FinetuneSettings;
}

/** The held-out evaluation of every head. */
export interface FinetuneEval {
  classify: ClassificationReport;
  /** The LM head (multi-task runs): mean loss per predicted token and its perplexity on the held-out texts. */
  lm?: { loss: number; perplexity: number };
  examples: number;
  truncated: number;
}

/** What a progress display gets. */
export type FinetuneEvent =
  | { type: 'step'; step: number; steps: number; epoch: number; loss: number; classifyLoss: number; lmLoss: number | null; lr: number; tokens: number }
  | { type: 'eval'; epoch: number; step: number; result: FinetuneEval };

export interface FinetuneResult {
  out: string;
  config: ClassifierRunConfig;
  eval: FinetuneEval;
}

const op = 'finetune';

function positive(name: string, v: unknown, integer: boolean): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isSafeInteger(v)))
    throw argError(op, name, integer ? 'a positive integer' : 'a positive number', describe(v));
}

/**
 * Reads the labeled data: the JSONL file as it is, or the built-in SpamAssassin corpus with each
 * message in its e-mail view (addressing headers and body: see emailView).
 */
export function loadLabeledData(file: string | null, info: (line: string) => void = () => {}): { examples: LabeledText[]; source: string } {
  if (file !== null) return { examples: readClassifyJsonl(file), source: path.resolve(file) };
  const t0 = performance.now();
  const corpus = loadSpamAssassin();
  info(`data: SpamAssassin public corpus, ${corpus.examples.length} messages (${((performance.now() - t0) / 1000).toFixed(1)} s to read), ` +
    'each as its addressing headers and body');
  return { examples: corpus.examples.map((e) => ({ ...e, text: emailView(e.text) })), source: corpus.source };
}

/** Predicted class ids (and the LM loss, multi-task) of encoded examples, without gradients. */
export async function predict(model: SequenceClassifier, tokenizer: Tokenizer, rows: readonly EncodedText[], batchSize: number, lm: boolean):
  Promise<{ pred: number[]; lm?: { loss: number; perplexity: number } }> {
  const pred: number[] = [];
  const padId = tokenizer.specialId('pad') ?? 0;
  let lmTotal = 0, lmCount = 0;
  const random = new Random(0x1eaf);
  for (let i = 0; i < rows.length; i += batchSize) {
    const group = rows.slice(i, i + batchSize);
    const { ids, T, lengths } = padRows(group.map((r) => r.ids), padId);
    await scope(async () => {
      const { classes, lmLoss } = noGrad(() => {
        const idx = Tensor.from(ids, [group.length, T], { dtype: 'i32', device: model.body.device });
        const { pooled, hidden } = model.pooled({ idx, lengths });
        const logits = model.headLogits(pooled)[CLASSIFY_TASK];
        const l = lm ? multiTaskLmLoss(model, tokenizer, { ids, T, lengths }, hidden, random, { training: false }) : null;
        return { classes: logits, lmLoss: l };
      });
      for (const v of argmaxRows(await classes.toArray() as Float32Array, classes.shape[1])) pred.push(v);
      if (lmLoss) {
        lmTotal += await lmLoss.item();
        lmCount++;
      }
    });
  }
  const lmOut = lm && lmCount > 0 ? { loss: lmTotal / lmCount, perplexity: Math.exp(lmTotal / lmCount) } : undefined;
  return { pred, ...(lmOut ? { lm: lmOut } : {}) };
}

/** The index of each row's largest logit (the first on ties). */
function argmaxRows(values: Float32Array, K: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / K; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (values[r * K + k] > values[r * K + best]) best = k;
    out.push(best);
  }
  return out;
}

/** Fine-tunes per `options`; reports through `onEvent` and `info`. */
export async function finetune(options: FinetuneOptions, onEvent: (e: FinetuneEvent) => void = () => {}, info: (line: string) => void = () => {}): Promise<FinetuneResult> {
  if (options === null || typeof options !== 'object') throw argError(op, 'options', 'an options object', describe(options));
  if ((options.task ?? 'classify') !== 'classify') throw argError(op, 'task', "'classify'", describe(options.task));
  const dir = path.resolve(options.dir);
  const out = path.resolve(options.out ?? path.join(dir, CLASSIFY_TASK));
  if (out === dir) throw new GlmError(op, `--out must differ from the pretrained run '${dir}' (it would overwrite it)`);
  if (hasCheckpoint(out)) throw new GlmError(op, `'${out}' already holds a run; choose another --out (nothing was overwritten)`);
  const device = options.device ?? 'cpu';
  const run = loadAnyRunModel(dir, device);
  const tokenizer = loadRunTokenizer(runPath(dir, 'tokenizer'));
  const body = run.model;
  const blockSize = body.config.blockSize;
  const freeze = options.freeze ?? false;
  const s: FinetuneSettings = {
    epochs: options.epochs ?? 3,
    batchSize: options.batchSize ?? 16,
    lr: options.lr ?? (freeze ? 3e-3 : 3e-4),
    weightDecay: options.weightDecay ?? 0.01,
    freeze,
    lmWeight: options.lmWeight ?? 0,
    maxLength: options.maxLength ?? blockSize,
    truncate: options.truncate ?? options.data === undefined,
    testFraction: options.testFraction ?? 0.2,
    seed: options.seed ?? 1337,
    maxTrain: options.maxTrain ?? null,
  };
  let model: SequenceClassifier | null = null;
  try {
    positive('epochs', s.epochs, true);
    positive('batchSize', s.batchSize, true);
    positive('lr', s.lr, false);
    positive('maxLength', s.maxLength, true);
    if (s.maxTrain !== null) positive('maxTrain', s.maxTrain, true);
    if (s.maxLength > blockSize) throw argError(op, 'maxLength', `at most the model's block size ${blockSize}`, `${s.maxLength}`);
    if (typeof s.lmWeight !== 'number' || !(s.lmWeight >= 0) || !Number.isFinite(s.lmWeight)) throw argError(op, 'lmWeight', 'a number >= 0', describe(s.lmWeight));
    if (!(s.weightDecay >= 0)) throw argError(op, 'weightDecay', 'a number >= 0', describe(s.weightDecay));
    if (s.freeze && s.lmWeight > 0) throw new GlmError(op, '--lm-weight trains the body beside the head, which --freeze keeps fixed: use one or the other');

    const { examples, source } = loadLabeledData(options.data ?? null, info);
    const split = splitByIdHash(examples, { testFraction: s.testFraction });
    const labels = labelSet(split.train);
    info(`split: ${split.train.length} train, ${split.test.length} held out (${split.classCounts.map((c) => `${c.label} ${c.train}/${c.test}`).join(', ')})`);
    let trainSet = split.train;
    if (s.maxTrain !== null && trainSet.length > s.maxTrain) trainSet = new Random(s.seed).shuffle(trainSet.slice()).slice(0, s.maxTrain);
    const enc = { maxLength: s.maxLength, truncate: s.truncate, source: options.data ?? DEFAULT_DATA };
    const trainRows = encodeExamples(trainSet, labels, body, tokenizer, enc);
    const testRows = encodeExamples(split.test, labels, body, tokenizer, enc);
    const truncated = trainRows.filter((r) => r.truncated).length + testRows.filter((r) => r.truncated).length;
    if (truncated) info(`${truncated} of ${trainRows.length + testRows.length} texts were cut to ${s.maxLength} tokens`);

    model = new SequenceClassifier(body, [{ name: CLASSIFY_TASK, labels }], { seed: s.seed });
    const m = model;
    const optimizer = new AdamW(m.parameterGroups(s.weightDecay, freeze), { lr: s.lr, weightDecay: s.weightDecay });
    const stepsPerEpoch = Math.ceil(trainRows.length / s.batchSize);
    const steps = stepsPerEpoch * s.epochs;
    const schedule = cosineWithWarmup({ maxLr: s.lr, minLr: s.lr / 10, warmupSteps: Math.min(100, Math.ceil(steps / 10)), totalSteps: steps });
    info(`model: ${body.describeConfig()} + a ${labels.length}-class head on the ${m.pooling === 'first' ? '[CLS] position' : 'last token'}` +
      `${freeze ? ' (body frozen)' : ''}${s.lmWeight > 0 ? `, with its LM objective at weight ${s.lmWeight}` : ''}; ${steps} steps`);
    fs.mkdirSync(out, { recursive: true });
    // A run that failed before its commit may have left a log behind: start it afresh.
    const metrics = MetricsLog.open(runPath(out, 'metrics'), { keepUpToStep: 0 });
    const padId = tokenizer.specialId('pad') ?? 0;
    const order = new Random((s.seed ^ 0x9e3779b9) >>> 0);
    const params = optimizer.params;
    let step = 0;
    let last: FinetuneEval | null = null;
    try {
      for (let epoch = 1; epoch <= s.epochs; epoch++) {
        const perm = order.shuffle(Array.from({ length: trainRows.length }, (_, i) => i));
        for (let i = 0; i < perm.length; i += s.batchSize) {
          const group = perm.slice(i, i + s.batchSize).map((k) => trainRows[k]);
          const lr = schedule(step);
          optimizer.lr = lr;
          const seed = dropoutSeed(s.seed, step, 0);
          const losses = await scope(async () => {
            const { ids, T, lengths } = padRows(group.map((r) => r.ids), padId);
            const idx = Tensor.from(ids, [group.length, T], { dtype: 'i32', device });
            const { pooled, hidden } = m.pooled({ idx, lengths }, { training: true, dropoutSeed: seed, frozen: freeze });
            const logits = m.headLogits(pooled)[CLASSIFY_TASK];
            const cls = softmaxCrossEntropy(logits, Tensor.from(Int32Array.from(group, (r) => r.label), [group.length], { dtype: 'i32', device }));
            const lm = s.lmWeight > 0 && !freeze
              ? multiTaskLmLoss(m, tokenizer, { ids, T, lengths }, hidden, new Random(seed), { training: true, dropoutSeed: (seed ^ 1) >>> 0 })
              : null;
            const loss = lm ? add(cls, scale(lm, s.lmWeight)) : cls;
            loss.backward();
            optimizer.step({ gradScale: clipGradNorm(params, 1).coef });
            optimizer.zeroGrad();
            return { loss: await loss.item(), cls: await cls.item(), lm: lm ? await lm.item() : null };
          });
          step++;
          if (!Number.isFinite(losses.loss)) throw new GlmError(op, `the loss became ${losses.loss} at step ${step} (try a lower --lr)`);
          metrics.append({ step, type: 'train', epoch, loss: losses.loss, classifyLoss: losses.cls, lmLoss: losses.lm, lr });
          onEvent({ type: 'step', step, steps, epoch, loss: losses.loss, classifyLoss: losses.cls, lmLoss: losses.lm, lr, tokens: group.reduce((n, r) => n + r.ids.length, 0) });
        }
        last = await evaluateHeads(m, tokenizer, testRows, labels, s, truncated);
        metrics.append({ step, type: 'eval', epoch, accuracy: last.classify.accuracy, macroF1: last.classify.macroF1, lm: last.lm ?? null });
        onEvent({ type: 'eval', epoch, step, result: last });
      }
      metrics.sync();
      const config: ClassifierRunConfig = {
        format: RUN_FORMAT,
        kind: 'classifier',
        base: { dir, objective: run.config.objective ?? 'causal', preset: run.config.preset, model: run.config.model },
        tokenizer: run.config.tokenizer,
        tasks: [{ name: CLASSIFY_TASK, labels }],
        data: { source, file: options.data ? path.resolve(options.data) : null, salt: DEFAULT_SPLIT_SALT },
        finetune: s,
      };
      const result = last!;
      commitCheckpoint(out, step, {
        [path.basename(runPath(out, 'model'))]: (p) => saveTensorsSync(p, m.stateDict(), { format: 'pt', step: String(step) }),
        [path.basename(runPath(out, 'tokenizer'))]: (p) => writeFileAtomic(p, fs.readFileSync(runPath(dir, 'tokenizer'))),
        'report.json': (p) => writeJsonAtomic(p, result),
        'report.txt': (p) => writeFileAtomic(p, formatEval(result) + '\n'),
        [path.basename(runPath(out, 'config'))]: (p) => writeJsonAtomic(p, config),
        [path.basename(runPath(out, 'state'))]: (p) => writeJsonAtomic(p, { step, epoch: s.epochs }),
      });
      return { out, config, eval: result };
    } finally {
      metrics.close();
      optimizer.dispose();
    }
  } finally {
    if (model) model.dispose();
    else body.dispose();
  }
}

/** Accuracy, per-class scores and the confusion matrix of the classification head; the LM head's loss (multi-task). */
export async function evaluateHeads(model: SequenceClassifier, tokenizer: Tokenizer, rows: readonly EncodedText[], labels: readonly string[],
  s: Pick<FinetuneSettings, 'batchSize' | 'lmWeight'>, truncated: number): Promise<FinetuneEval> {
  const { pred, lm } = await predict(model, tokenizer, rows, s.batchSize, s.lmWeight > 0);
  const classify = classificationReport(rows.map((r) => r.label), pred, labels);
  return { classify, ...(lm ? { lm } : {}), examples: rows.length, truncated };
}

/** The report as text: the classification table and the LM head's line. */
export function formatEval(e: FinetuneEval): string {
  const lm = e.lm ? `\nLM head: loss ${e.lm.loss.toFixed(4)}, perplexity ${e.lm.perplexity.toFixed(2)}` : '';
  return `${e.examples} held-out examples\n${formatReport(e.classify)}${lm}`;
}
