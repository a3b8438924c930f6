/**
 * Fine-tuning classifiers (glm finetune) on pretrained runs of every kind: a separable task is learned,
 * the report is consistent and survives a reload (glm eval gives the same numbers), a frozen body stays
 * as pretrained, multi-task runs report the LM head, bad data gives clear errors, and the CLI
 * (finetune, eval, generate --infill with one fill per blank) works end to end in child processes.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { loadTensors } from '../lib/io/tensors';
import { evaluateClassifierRun } from '../lib/train/evaluateClassifier';
import { finetune } from '../lib/train/finetune';
import { train } from '../lib/train/run';
import { assertThrows } from './helpers/assert';

const test = suite('finetune');
const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-finetune-'));
let seed = 5;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
const COMMON = ['the', 'a', 'day', 'was', 'and', 'we', 'went', 'out', 'home'];
const sentence = (cue: string) => Array.from({ length: 4 + Math.floor(next() * 4) }, (_, i) => (i === 1 ? cue : pick(COMMON))).join(' ');

// Pretraining text and a labeled set whose label is carried by one word (sunny/bright vs rainy/grey).
const corpus = [0, 1].map((d) => {
  const f = path.join(tmp, `pre${d}.txt`);
  fs.writeFileSync(f, Array.from({ length: 400 }, () => sentence(pick(['sunny', 'bright', 'rainy', 'grey'])) + '.').join('\n'));
  return f;
});
const jsonl = (name: string, lines: unknown[]) => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return f;
};
const data = jsonl('weather.jsonl', Array.from({ length: 240 }, (_, i) => {
  const label = i % 2 === 0 ? 'fine' : 'wet';
  return { id: `m${i}`, text: sentence(label === 'fine' ? pick(['sunny', 'bright']) : pick(['rainy', 'grey'])), label };
}));
const pretrained: Record<string, string> = {};
const pretrain = async (objective: 'causal' | 'mlm+nsp' | 'glm') => {
  const out = path.join(tmp, `pre-${objective}`);
  await train({ out, files: corpus, objective, preset: 'tiny', model: { nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 40 },
    train: { steps: 12, batchSize: 8, evalInterval: 12, evalIters: 1, lr: 3e-3, warmupSteps: 2, sampleTokens: 0 } });
  pretrained[objective] = out;
};
const settings = { data, epochs: 10, batchSize: 16, lr: 3e-3, testFraction: 0.25 };

test.before(async () => {
  for (const o of ['causal', 'mlm+nsp', 'glm'] as const) await pretrain(o);
});

for (const objective of ['mlm+nsp', 'glm', 'causal'] as const) {
  test(`${objective}: a one-word task is learned, the report is consistent, and a reload reports the same`, async () => {
    const out = path.join(tmp, `cls-${objective}`);
    const r = await finetune({ dir: pretrained[objective], out, ...settings });
    const c = r.eval.classify;
    assert.ok(c.accuracy >= 0.95, `held-out accuracy ${c.accuracy} >= 0.95`);
    const total = c.confusion.flat().reduce((a, b) => a + b, 0);
    assert.is(total, r.eval.examples);
    assert.is(c.confusion[0][0] + c.confusion[1][1], Math.round(c.accuracy * total));
    assert.equal(r.config.tasks, [{ name: 'classify', labels: ['fine', 'wet'] }]);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'metrics.jsonl', 'report.json', 'report.txt', 'state.json'])
      assert.ok(fs.existsSync(path.join(out, f)), `${f} written`);
    const again = await evaluateClassifierRun(out);
    assert.equal(again.classify.confusion, c.confusion, 'glm eval reloads the same classifier');
  });
}

test('a frozen body keeps its pretrained weights; only the head moves', async () => {
  const out = path.join(tmp, 'frozen');
  await finetune({ dir: pretrained['mlm+nsp'], out, ...settings, epochs: 1, freeze: true });
  const before = loadTensors(path.join(pretrained['mlm+nsp'], 'model.safetensors')).tensors;
  const after = loadTensors(path.join(out, 'model.safetensors')).tensors;
  for (const [name, t] of Object.entries(before))
    assert.equal(Array.from(await after[name].toArray()), Array.from(await t.toArray()), `${name} unchanged`);
  assert.ok(after['head.classify.weight'], 'the head is saved');
});

test('multi-task: the LM head is trained beside the classifier and reported, for every body', async () => {
  for (const objective of ['causal', 'mlm+nsp', 'glm'] as const) {
    const r = await finetune({ dir: pretrained[objective], out: path.join(tmp, `multi-${objective}`), ...settings, epochs: 1, lmWeight: 0.5 });
    assert.ok(r.eval.lm && Number.isFinite(r.eval.lm.loss) && r.eval.lm.loss > 0, `${objective}: LM head loss ${r.eval.lm?.loss}`);
    assert.ok(Math.abs(r.eval.lm!.perplexity - Math.exp(r.eval.lm!.loss)) < 1e-9);
    const again = await evaluateClassifierRun(path.join(tmp, `multi-${objective}`));
    assert.ok(again.lm, `${objective}: glm eval reports the LM head too`);
  }
});

test('bad data: missing labels, one class, a text longer than the context, an unknown label at eval', async () => {
  const dir = pretrained['mlm+nsp'];
  const o = (name: string) => ({ dir, out: path.join(tmp, name), epochs: 1 });
  await assertThrows(() => finetune({ ...o('b1'), data: jsonl('nolabel.jsonl', [{ text: 'a b', label: 'x' }, { text: 'c d' }]) }), 'nolabel.jsonl', 'line 2', 'label');
  await assertThrows(() => finetune({ ...o('b2'), data: jsonl('one.jsonl', [{ text: 'a', label: 'x' }, { text: 'b', label: 'x' }]) }), 'at least two classes', "only 'x'");
  const long = jsonl('long.jsonl', Array.from({ length: 40 }, (_, i) => ({ text: i === 7 ? 'the day was '.repeat(20) : 'a day', label: i % 2 ? 'p' : 'q' })));
  await assertThrows(() => finetune({ ...o('b3'), data: long }), 'has 240 tokens', 'more than the 38 that fit', '--truncate');
  assert.ok(!fs.existsSync(path.join(tmp, 'b3', 'config.json')), 'nothing saved');
  const unknown = jsonl('unknown.jsonl', [{ text: 'a sunny day', label: 'fine' }, { text: 'snow', label: 'snowy' }]);
  await assertThrows(() => evaluateClassifierRun(path.join(tmp, 'cls-mlm+nsp'), { file: unknown }), "unknown label 'snowy' at line 2", 'the model knows: fine, wet');
  await assertThrows(() => finetune({ ...o('b4'), data, maxLength: 41 }), "argument 'maxLength'", 'at most the model\'s block size 40');
  await assertThrows(() => finetune({ ...o('b5'), data, freeze: true, lmWeight: 0.5 }), '--lm-weight trains the body', '--freeze');
  await assertThrows(() => finetune({ dir: path.join(tmp, 'cls-mlm+nsp'), out: path.join(tmp, 'b6'), data }), 'holds a fine-tuned classifier', 'the pretrained run');
});

test('the CLI: glm finetune, glm eval of the fine-tuned run, glm generate --infill (one fill per blank)', () => {
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib/cli/index.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  const out = path.join(tmp, 'cli-cls');
  const ft = cli(['finetune', pretrained['glm'], '--data', data, '--out', out, '--epochs', '1', '--batch', '16']);
  assert.is(ft.status, 0, ft.out);
  assert.match(ft.out, /accuracy \d\.\d{4} \(\d+\/\d+\)/);
  assert.match(ft.out, /confusion matrix/);
  const ev = cli(['eval', out]);
  assert.is(ev.status, 0, ev.out);
  assert.match(ev.out, /held-out split of .*weather\.jsonl/);
  const fill = cli(['generate', pretrained['glm'], '--infill', 'the [MASK] was sunny and [MASK] went home', '--max-tokens', '6', '--seed', '3']);
  assert.is(fill.status, 0, fill.out);
  const lines = fill.out.trim().split('\n');
  assert.equal(lines.filter((l) => /^\[\d\] /.test(l)).map((l) => l.slice(0, 3)), ['[1]', '[2]'], `one fill per blank:\n${fill.out}`);
  assert.match(lines[lines.length - 1], /^the .* was sunny and .* went home$/s);
  const bad = cli(['generate', pretrained['mlm+nsp'], '--infill', 'a [MASK]']);
  assert.is(bad.status, 2, bad.out);
  assert.match(bad.out, /--infill needs a GLM run/);
  const noBlank = cli(['generate', pretrained['glm'], '--infill', 'no blanks here']);
  assert.is(noBlank.status, 2);
  assert.match(noBlank.out, /at least one \[MASK\]/);
});

test.run();
