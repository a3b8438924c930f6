/**
 * Pretraining encoders through the library API (glm train --objective mlm+nsp | glm): the losses fall
 * on a fixed corpus and are logged by part, glm eval reads the run back, a stopped-and-resumed run logs
 * the same losses as an uninterrupted one, and bad requests fail before any work.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { readMetrics } from '../lib/io/metrics';
import { evaluateRun } from '../lib/train/evaluate';
import { train, TrainOptions } from '../lib/train/run';
import { assertThrows } from './helpers/assert';

const test = suite('pretrain encoders');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-pretrain-'));

/** Three documents of short sentences over a small vocabulary: structure a tiny model learns fast. */
function writeCorpus(): string[] {
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'to', 'hill'];
  let seed = 11;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return [0, 1, 2].map((d) => {
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) lines.push(Array.from({ length: 3 + Math.floor(next() * 5) }, () => words[Math.floor(next() * words.length)]).join(' ') + '.');
    const file = path.join(tmp, `doc${d}.txt`);
    fs.writeFileSync(file, lines.join('\n'));
    return file;
  });
}
const files = writeCorpus();
const base = (out: string, objective: 'mlm+nsp' | 'glm', steps: number): TrainOptions => ({
  out: path.join(tmp, out), files, objective, preset: 'tiny',
  model: { nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 48 },
  train: { steps, batchSize: 8, evalInterval: 8, evalIters: 2, lr: 3e-3, warmupSteps: Math.min(4, steps) },
});
const entries = (dir: string, type: string) => readMetrics(path.join(dir, 'metrics.jsonl')).entries.filter((e) => e.type === type);

test('mlm+nsp: the masked-LM loss falls, both parts are logged, glm eval reports them', async () => {
  const opts = base('bert', 'mlm+nsp', 48);
  await train(opts);
  const evals = entries(opts.out, 'eval');
  const first = evals[0].val_mlm as number, last = evals[evals.length - 1].val_mlm as number;
  // Uniform over the ~30 ids of this corpus is ln(30) ≈ 3.4; the character statistics alone bring it below 2.9.
  assert.ok(first > 3, `initial masked-LM loss ${first} near ln(vocab)`);
  assert.ok(last < 2.9, `final masked-LM loss ${last} < 2.9 (from ${first})`);
  const nsp = evals[evals.length - 1].val_nsp as number;
  assert.ok(nsp > 0 && nsp < 1, `NSP loss ${nsp} is a two-class cross-entropy`);
  assert.ok(Math.abs((evals[evals.length - 1].valLoss as number) - (last + nsp)) < 1e-9, 'the loss is mlm + nsp');
  const train0 = entries(opts.out, 'train')[0];
  assert.type(train0.mlm, 'number');
  assert.type(train0.nsp, 'number');
  const config = JSON.parse(fs.readFileSync(path.join(opts.out, 'config.json'), 'utf8'));
  assert.is(config.objective, 'mlm+nsp');
  assert.is(config.model.arch, 'bert');
  const ev = await evaluateRun(opts.out, { batchSize: 8 });
  assert.ok(ev.parts && ev.parts.mlm > 0 && ev.parts.nsp > 0, 'eval reports both parts');
  assert.ok(Math.abs(ev.perplexity - Math.exp(ev.parts!.mlm)) < 1e-9, 'perplexity of the masked-LM part');
  const onFiles = await evaluateRun(opts.out, { files: [files[0], files[1]], batchSize: 8 });
  assert.is(onFiles.source, 'files');
});

test('glm: the blank-infilling loss falls; a stopped and resumed run logs the same losses', async () => {
  const whole = base('glm-whole', 'glm', 24);
  await train(whole);
  const evals = entries(whole.out, 'eval');
  assert.ok((evals[evals.length - 1].valLoss as number) < (evals[0].valLoss as number) - 0.5, `val loss falls: ${evals.map((e) => (e.valLoss as number).toFixed(3)).join(' ')}`);
  const split = base('glm-split', 'glm', 24);
  const controller = new AbortController();
  const stopped = await train(split, (e) => {
    if (e.type === 'step' && e.step === 10) controller.abort();
  }, () => {}, controller.signal);
  assert.is(stopped.step, 10);
  await train({ ...split, resume: true });
  const a = entries(whole.out, 'train').map((e) => e.loss), b = entries(split.out, 'train').map((e) => e.loss);
  assert.equal(b, a, 'resumed losses equal the uninterrupted ones, bit for bit');
});

test('bad requests fail before anything is written', async () => {
  await assertThrows(() => train({ ...base('bad1', 'glm', 2), objective: 'bidirectional' as never }), 'unknown objective "bidirectional"', 'causal, mlm+nsp, glm');
  await assertThrows(() => train({ ...base('bad2', 'glm', 2), preset: 'gpt2' }), 'unknown preset "gpt2"', 'tiny, small');
  await assertThrows(() => train({ ...base('bad3', 'mlm+nsp', 2), model: { positional: 'rope' } }), '--positional applies to GPT models');
  await assertThrows(() => train({ ...base('bad4', 'mlm+nsp', 2), tokenizer: { kind: 'gpt2' } }), 'needs the special tokens', '<|cls|>', 'use --tokenizer char or bpe');
  for (const d of ['bad1', 'bad2', 'bad3', 'bad4']) assert.ok(!fs.existsSync(path.join(tmp, d, 'config.json')), `${d}: nothing written`);
  await assertThrows(() => train({ ...base('glm-whole', 'mlm+nsp', 24), resume: true }), 'objective: saved glm, requested mlm+nsp');
});

test.run();
