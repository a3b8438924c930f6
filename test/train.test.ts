/**
 * The training workflow through the library API: the loss of a tiny model falls on a fixed corpus,
 * a stopped-and-resumed run logs the same losses as an uninterrupted one, and runs refuse to
 * overwrite or to resume from an incompatible config.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { readMetrics } from '../lib/io/metrics';
import { train, TrainOptions } from '../lib/train/run';
import { evaluateRun } from '../lib/train/evaluate';
import { assertThrows } from './helpers/assert';

const test = suite('train');

/** A corpus with structure a tiny model learns in a few dozen steps: short repeated phrases. */
function writeCorpus(dir: string): string {
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'to', 'hill'];
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const lines: string[] = [];
  for (let i = 0; i < 1500; i++) {
    const n = 3 + Math.floor(next() * 5);
    lines.push(Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ') + '.');
  }
  const file = path.join(dir, 'corpus.txt');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-train-'));
const corpus = writeCorpus(tmp);
const base = (out: string, steps = 24): TrainOptions => ({
  out: path.join(tmp, out),
  files: [corpus],
  preset: 'tiny',
  model: { nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 32 },
  train: { steps, batchSize: 8, evalInterval: 6, evalIters: 2, sampleTokens: 8, lr: 3e-3 },
});
const trainLosses = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl')).entries.filter((e) => e.type === 'train').map((e) => e.loss as number);

test('the validation loss of a tiny model falls on a fixed corpus, and glm eval reads the checkpoint back', async () => {
  const opts = base('falls', 60);
  const result = await train(opts);
  assert.is(result.step, 60);
  assert.is(result.stoppedBy, 'done');
  const evals = readMetrics(path.join(opts.out, 'metrics.jsonl')).entries.filter((e) => e.type === 'eval');
  const first = evals[0].valLoss as number, last = evals[evals.length - 1].valLoss as number;
  // Uniform over the ~28 symbols of this corpus (plus byte fallbacks) is ln(vocab) ≈ 5.8; learning the
  // character statistics alone brings it below 2.6.
  assert.ok(first > 4.5, `initial val loss ${first} near ln(vocab)`);
  assert.ok(last < 2.6, `final val loss ${last} < 2.6 (from ${first})`);
  for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'state.json', 'tokenizer.json', 'metrics.jsonl', 'loss.svg', 'loss.png'])
    assert.ok(fs.existsSync(path.join(opts.out, f)), `${f} written`);
  const ev = await evaluateRun(opts.out, { batchSize: 8 });
  assert.is(ev.step, 60);
  assert.ok(Math.abs(ev.loss - last) < 0.25, `eval on the validation split ${ev.loss} near the last logged val loss ${last}`);
  assert.ok(Math.abs(ev.perplexity - Math.exp(ev.loss)) < 1e-9);
  const onFile = await evaluateRun(opts.out, { files: [corpus], batchSize: 8 });
  assert.ok(onFile.tokens > 10000 && onFile.loss < 2.6, `eval on the corpus file: ${onFile.loss} over ${onFile.tokens} tokens`);
});

test('a run stopped at step 10 and resumed logs the same losses as one that never stopped', async () => {
  await train(base('straight'));
  const controller = new AbortController();
  const stopped = await train(base('resumed'), (e) => {
    if (e.type === 'step' && e.step === 10) controller.abort();
  }, () => {}, controller.signal);
  assert.is(stopped.stoppedBy, 'signal');
  assert.is(stopped.step, 10);
  const resumed = await train({ ...base('resumed'), resume: true });
  assert.is(resumed.step, 24);
  const a = trainLosses(path.join(tmp, 'straight')), b = trainLosses(path.join(tmp, 'resumed'));
  assert.is(a.length, 24);
  assert.is(b.length, 24, 'the resumed log has each step once');
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6, `step ${i + 1}: ${a[i]} vs ${b[i]}`);
});

test('gradient accumulation: 2 micro-batches of 4 train like one batch of 8 (the sampler draws the same windows)', async () => {
  const one = base('accum1', 6), two = base('accum2', 6);
  two.train = { ...two.train, batchSize: 4, gradAccum: 2 };
  await train(one);
  await train(two);
  const a = trainLosses(one.out), b = trainLosses(two.out);
  assert.is(b.length, 6);
  // Equal-sized micro-batches: the mean of their means is the batch mean; only f32 summation order differs.
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 2e-5 * Math.abs(a[i]), `step ${i + 1}: ${a[i]} vs ${b[i]}`);
});

function snapshot(dir: string): string {
  return fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort()
    .map((f) => `${f}:${fs.readFileSync(path.join(dir, f)).toString('base64')}`).join('\n');
}

test('a new run refuses a directory holding a run, and a resume refuses another config; nothing changes', async () => {
  const dir = path.join(tmp, 'straight');
  const before = snapshot(dir);
  await assertThrows(() => train(base('straight')), /already holds a run/, /--resume/, /nothing was overwritten/);
  const other = base('straight');
  other.model = { ...other.model, nEmbd: 48 };
  await assertThrows(() => train({ ...other, resume: true }), /model\.nEmbd: saved 32, requested 48/);
  await assertThrows(() => train({ ...base('straight'), resume: true, train: { ...base('x').train, batchSize: 4 } }), /batchSize: saved 8, requested 4/);
  await assertThrows(() => train({ ...base('straight'), resume: true, tokenizer: { kind: 'bpe', vocabSize: 300 } }), /tokenizer: saved/);
  await assertThrows(() => train({ ...base('nothing-here'), resume: true }), /holds no checkpoint/);
  assert.is(snapshot(dir), before, 'the run directory is unchanged');
});

test('bad input: unknown preset, a corpus shorter than one block', async () => {
  await assertThrows(() => train({ ...base('bad1'), preset: 'huge' as never }), /unknown preset "huge"/);
  const short = path.join(tmp, 'short.txt');
  fs.writeFileSync(short, 'too short for a block of 32 tokens');
  await assertThrows(() => train({ ...base('bad2'), files: [short] }), /shorter than one block/, /blockSize/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'bad2', 'state.json')), 'no checkpoint left behind');
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
