/**
 * lib/eval/classification.ts: the report on hand-computed cases (0/0 = 0 included), against the
 * brute-force reference of test/reference/classification.ts on random predictions, the formatted
 * table, and bad inputs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { classificationReport, formatReport } from '../lib/eval';
import { assertClose, assertThrows } from './helpers/assert';
import { rng } from './helpers/random';
import { classificationRef } from './reference/classification';

test('hand-computed: 3 classes, 10 examples', () => {
  // gold:  a a a a b b b c c c      pred:  a a b c b b a c c a
  const gold = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
  const pred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 0];
  const r = classificationReport(gold, pred, ['a', 'b', 'c']);
  assert.equal(r.confusion, [[2, 1, 1], [1, 2, 0], [1, 0, 2]]);
  assert.is(r.accuracy, 6 / 10);
  // a: tp 2, predicted 4, support 4 -> P 1/2, R 1/2, F1 1/2
  // b: tp 2, predicted 3, support 3 -> P 2/3, R 2/3, F1 2/3
  // c: tp 2, predicted 3, support 3 -> P 2/3, R 2/3, F1 2/3
  const exp = [[1 / 2, 1 / 2, 1 / 2, 4], [2 / 3, 2 / 3, 2 / 3, 3], [2 / 3, 2 / 3, 2 / 3, 3]];
  r.perClass.forEach((c, i) => {
    assert.is(c.label, ['a', 'b', 'c'][i]);
    assertClose([c.precision, c.recall, c.f1, c.support], exp[i], 1e-15, `class ${c.label}`);
  });
  assertClose([r.macroF1], [(1 / 2 + 2 / 3 + 2 / 3) / 3], 1e-15, 'macro F1');
});

test('hand-computed: unequal precision and recall, a class never predicted, a class with no gold example (0/0 = 0)', () => {
  // gold: 0 0 0 1 1     pred: 0 1 1 1 2   (class 2 has no gold example; nothing is wrongly 0)
  const r = classificationReport([0, 0, 0, 1, 1], [0, 1, 1, 1, 2], ['x', 'y', 'z']);
  assert.equal(r.confusion, [[1, 2, 0], [0, 1, 1], [0, 0, 0]]);
  const [x, y, z] = r.perClass;
  // x: P 1/1, R 1/3, F1 2·1·(1/3) / (4/3) = 1/2
  assertClose([x.precision, x.recall, x.f1, x.support], [1, 1 / 3, 1 / 2, 3], 1e-15, 'x');
  // y: tp 1, predicted 3, support 2 -> P 1/3, R 1/2, F1 2·(1/6) / (5/6) = 2/5
  assertClose([y.precision, y.recall, y.f1, y.support], [1 / 3, 1 / 2, 2 / 5, 2], 1e-15, 'y');
  // z: tp 0, predicted 1, support 0 -> P 0/1 = 0, R 0/0 := 0, F1 0
  assert.equal([z.precision, z.recall, z.f1, z.support], [0, 0, 0, 0]);
  assertClose([r.macroF1], [(1 / 2 + 2 / 5) / 3], 1e-15, 'macro F1 counts z');
  assert.is(r.accuracy, 2 / 5);
  // A class absent from gold and pred: everything 0/0 = 0.
  const s = classificationReport([0, 1], [0, 1], ['p', 'q', 'never']);
  assert.equal(s.perClass[2], { label: 'never', precision: 0, recall: 0, f1: 0, support: 0 });
  assert.equal([s.accuracy, s.macroF1], [1, 2 / 3]);
});

test('random predictions against the brute-force reference', () => {
  const r = rng();
  for (let trial = 0; trial < 200; trial++) {
    const k = r.int(2, 7);
    const n = r.int(1, 60);
    // Skewed classes so some are rare or absent; predictions right about half the time.
    const gold = Array.from({ length: n }, () => Math.min(k - 1, Math.floor(k * r.next() ** 2)));
    const pred = gold.map((g) => (r.next() < 0.5 ? g : r.int(0, k)));
    const labels = Array.from({ length: k }, (_, i) => `c${i}`);
    const got = classificationReport(gold, pred, labels);
    const ref = classificationRef(gold, pred, k);
    assert.equal(got.confusion, ref.confusion);
    // 1e-15: the two compute F1 by different formulas, a few float64 roundings apart.
    assertClose([got.accuracy, got.macroF1], [ref.accuracy, ref.macroF1], 1e-15, `trial ${trial}: accuracy, macro F1`);
    got.perClass.forEach((c, i) => {
      const e = ref.perClass[i];
      assert.is(c.support, e.support);
      assertClose([c.precision, c.recall, c.f1], [e.precision, e.recall, e.f1], 1e-15, `trial ${trial} class ${i}`, 1e-15);
    });
  }
});

test('formatReport: accuracy line, per-class rows and a labeled confusion matrix', () => {
  const text = formatReport(classificationReport([0, 0, 0, 1, 1], [0, 1, 1, 1, 1], ['ham', 'spam']));
  const lines = text.split('\n');
  assert.is(lines[0], 'accuracy 0.6000 (3/5)   macro F1 0.5833');
  assert.match(text, /^class\s+precision\s+recall\s+f1\s+support$/m);
  assert.match(text, /^ham\s+1\.0000\s+0\.3333\s+0\.5000\s+3$/m);
  assert.match(text, /^spam\s+0\.5000\s+1\.0000\s+0\.6667\s+2$/m);
  assert.match(text, 'confusion matrix (rows: gold, columns: predicted)');
  assert.match(text, /^gold \\ pred\s+ham\s+spam$/m);
  assert.match(text, /^ham\s+1\s+2$/m);
  assert.match(text, /^spam\s+0\s+2$/m);
});

test('bad inputs name the argument', async () => {
  await assertThrows(() => classificationReport([0, 1], [0], ['a', 'b']), "argument 'pred'", 'an array of 2 class ids');
  await assertThrows(() => classificationReport([], [], ['a', 'b']), "argument 'gold'", 'non-empty');
  await assertThrows(() => classificationReport([0, 2], [0, 1], ['a', 'b']), "argument 'gold[1]'", 'an integer class id in [0, 2)', 'got 2');
  await assertThrows(() => classificationReport([0, 1], [0, 0.5], ['a', 'b']), "argument 'pred[1]'", 'got 0.5');
  await assertThrows(() => classificationReport([0], [0], []), "argument 'labels'");
  await assertThrows(() => classificationReport([0], [0], ['a', 'a']), "argument 'labels'", 'distinct');
});

test.run();
