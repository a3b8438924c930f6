/**
 * lib/eval/naiveBayes.ts: the tokenizer, the log-probabilities of a tiny corpus computed by hand
 * (Laplace and Lidstone smoothing, unbalanced priors, unknown words ignored), a synthetic separable
 * problem learnt exactly, and bad inputs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { MultinomialNaiveBayes, wordTokens } from '../lib/eval';
import { assertClose, assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

test('wordTokens: lowercase runs of letters and digits, 1 to 30 code units; longer runs dropped', () => {
  assert.equal(wordTokens('Re: FREE $$$ 4U!!'), ['re', 'free', '4u']);
  assert.equal(wordTokens('Café naïve ΕΛΛΆΔΑ e-mail_x'), ['café', 'naïve', 'ελλάδα', 'e', 'mail', 'x']);
  assert.equal(wordTokens('a' + ' ' + 'b'.repeat(30) + ' ' + 'c'.repeat(31) + ' d'), ['a', 'b'.repeat(30), 'd']);
  assert.equal(wordTokens(' \n\t!?'), []);
});

// The tiny corpus: class 0 = {"a a b", "a c"}, class 1 = {"b b", "c b d", "d"}; V = {a, b, c, d} = 4.
// Counts: class 0: a 3, b 1, c 1, d 0 (N0 = 5); class 1: a 0, b 3, c 1, d 2 (N1 = 6).
// Priors: 2/5 and 3/5.
const texts = ['a a b', 'a c', 'b b', 'c b d', 'd'];
const labels = [0, 0, 1, 1, 1];

test('hand-computed log-probabilities, alpha = 1 (Laplace)', () => {
  const nb = new MultinomialNaiveBayes().fit(texts, labels, 2);
  assert.is(nb.vocabularySize, 4);
  assert.is(nb.numClasses, 2);
  // P(w | 0) = (N0w + 1) / (5 + 4): a 4/9, b 2/9, c 2/9, d 1/9
  // P(w | 1) = (N1w + 1) / (6 + 4): a 1/10, b 4/10, c 2/10, d 3/10
  // "A b zzz" (zzz unseen, ignored; case folded): class 0: 2/5 · 4/9 · 2/9, class 1: 3/5 · 1/10 · 4/10.
  // "d d": class 0: 2/5 · (1/9)^2, class 1: 3/5 · (3/10)^2.
  const joint = [
    [Math.log((2 / 5) * (4 / 9) * (2 / 9)), Math.log((3 / 5) * (1 / 10) * (4 / 10))],
    [Math.log((2 / 5) * (1 / 81)), Math.log((3 / 5) * (9 / 100))],
    [Math.log(2 / 5), Math.log(3 / 5)], // no known word: the priors
  ];
  const queries = ['A b zzz', 'd d', 'zzz'];
  // 1e-14: a handful of float64 logs and sums of magnitude ~5.
  assertClose(nb.jointLogLikelihood(queries).flat(), joint.flat(), 1e-14, 'joint log-likelihood');
  const logProba = joint.map(([x, y]) => {
    const z = Math.log(Math.exp(x) + Math.exp(y));
    return [x - z, y - z];
  });
  assertClose(nb.predictLogProba(queries).flat(), logProba.flat(), 1e-14, 'log P(c | d)');
  // 16/405 = 0.0395 > 12/500 = 0.024; 2/405 < 27/500; 2/5 < 3/5.
  assert.equal(nb.predict(queries), [0, 1, 1]);
});

test('hand-computed log-probabilities, alpha = 0.5 (Lidstone)', () => {
  const nb = new MultinomialNaiveBayes({ alpha: 0.5 }).fit(texts, labels, 2);
  // P(w | 0) = (N0w + 0.5) / (5 + 2): a 3.5/7, c 1.5/7; P(w | 1) = (N1w + 0.5) / (6 + 2): a 0.5/8, c 1.5/8.
  const joint = [Math.log((2 / 5) * (3.5 / 7) * (1.5 / 7)), Math.log((3 / 5) * (0.5 / 8) * (1.5 / 8))];
  assertClose(nb.jointLogLikelihood(['c, a!'])[0], joint, 1e-14, 'joint log-likelihood');
  assert.equal(nb.predict(['c, a!']), [0]);
});

test('learns a synthetic separable problem: 3 classes with disjoint vocabularies plus shared noise', () => {
  const r = rng();
  const vocab = [0, 1, 2].map((c) => Array.from({ length: 20 }, (_, i) => `w${c}x${i}`));
  const shared = Array.from({ length: 50 }, (_, i) => `common${i}`);
  const doc = (c: number) => {
    const words: string[] = [];
    const n = r.int(3, 15);
    for (let i = 0; i < n; i++) words.push(vocab[c][r.int(0, 20)]);
    for (let i = 0; i < r.int(0, 30); i++) words.push(shared[r.int(0, 50)]);
    return words.join(' ');
  };
  const make = (n: number) => {
    const y = Array.from({ length: n }, () => r.int(0, 3));
    return { x: y.map(doc), y };
  };
  const train = make(600);
  const testSet = make(300);
  const nb = new MultinomialNaiveBayes().fit(train.x, train.y, 3);
  assert.equal(nb.predict(testSet.x), testSet.y);
  for (const row of nb.predictLogProba(testSet.x.slice(0, 20))) {
    assertClose([row.reduce((s, x) => s + Math.exp(x), 0)], [1], 1e-12, 'probabilities sum to 1');
  }
});

test('bad inputs and use before fit', async () => {
  await assertThrows(() => new MultinomialNaiveBayes({ alpha: 0 }), "argument 'options.alpha'", 'a finite number > 0', 'got 0');
  await assertThrows(() => new MultinomialNaiveBayes({ alpha: NaN }), "argument 'options.alpha'");
  const nb = new MultinomialNaiveBayes();
  await assertThrows(() => nb.predict(['x']), 'MultinomialNaiveBayes.jointLogLikelihood', 'not fitted');
  await assertThrows(() => nb.fit(texts, [0, 0, 1], 2), "fit: argument 'labels'", 'an array of 5 class ids');
  await assertThrows(() => nb.fit(texts, [0, 0, 1, 1, 2], 2), "argument 'labels[4]'", 'in [0, 2)', 'got 2');
  await assertThrows(() => nb.fit(texts, labels, 3), "argument 'labels'", 'no text of class 2');
  await assertThrows(() => nb.fit(texts, labels, 1), "argument 'numClasses'");
  await assertThrows(() => nb.fit([], [], 2), "argument 'texts'");
  await assertThrows(() => nb.fit(texts, labels, 2).predict([3 as unknown as string]), "argument 'texts'");
});

test.run();
