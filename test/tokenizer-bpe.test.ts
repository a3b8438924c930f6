/** Byte-level BPE: training against a from-scratch reference, the two merge algorithms, round trips. */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { SPECIAL_NAMES, trainBpe } from '../lib/tokenizer/index';
import { MergeTable, mergeWordHeap, mergeWordScan } from '../lib/tokenizer/mergeTable';
import { rng } from './helpers/random';
import { referenceTrain } from './reference/bpeTrain';
import { anyText, sotuTexts, surrogateHeavy, TRICKY } from './reference/tokenizerCorpus';

const fcSeed = () => ({ seed: rng().int(0, 2 ** 31), numRuns: 300 });
const k = SPECIAL_NAMES.length;
const texts = sotuTexts(200_000);
const bpe = trainBpe(texts, { vocabSize: 1000 });

test('training makes the same merges as the recount-everything reference (SOTU sample)', () => {
  const small = texts.slice(0, 2).map((t) => t.slice(0, 12_000));
  const ours = trainBpe(small, { vocabSize: k + 256 + 120 });
  const ref = referenceTrain(small, k + 256 + 120, k);
  assert.is(ours.merges().length, 120);
  assert.equal(ours.merges().map((m) => [...m]), ref);
});

test('training matches the reference on random text with heavy ties, repeats and multi-byte characters', () => {
  const r = rng();
  for (let round = 0; round < 4; round++) {
    const alphabet = ['a', 'b', 'a', ' ', 'é', '中', "'s", '\n'];
    const lines = Array.from({ length: 40 }, () => Array.from({ length: r.int(1, 40) }, () => alphabet[r.int(0, alphabet.length)]).join(''));
    const vocab = k + 256 + r.int(10, 80);
    const ours = trainBpe(lines, { vocabSize: vocab });
    const ref = referenceTrain(lines, vocab, k);
    assert.equal(ours.merges().map((m) => [...m]), ref, `round ${round}`);
    assert.ok(ours.vocabSize <= vocab);
    for (const line of lines) assert.is(ours.decode(ours.encode(line)), line);
  }
});

test('no two tokens are spelled alike; training stops when no pair is left', () => {
  const corpus = ['aaa aaaa baaa baaaa aaaaaaa', 'aaa baaa'];
  const ref = referenceTrain(corpus, k + 256 + 100, k);
  const ours = trainBpe(corpus, { vocabSize: k + 256 + 100 });
  assert.equal(ours.merges().map((m) => [...m]), ref);
  assert.ok(ours.vocabSize < k + 256 + 100, 'ran out of pairs before the target');
  const spelled = new Set<string>();
  for (let id = 0; id < ours.vocabSize; id++) {
    const b = ours.tokenBytes(id);
    if (b === null) continue;
    const s = Buffer.from(b).toString('latin1');
    assert.ok(!spelled.has(s), `two tokens spell ${s}`);
    spelled.add(s);
  }
});

test('vocabulary size, special ids, determinism, and corpus as string / array / generator', () => {
  assert.is(bpe.vocabSize, 1000);
  assert.is(bpe.merges().length, 1000 - 256 - k);
  SPECIAL_NAMES.forEach((name, i) => assert.is(bpe.specialId(name), i));
  for (let b = 0; b < 256; b++) assert.equal([...bpe.tokenBytes(k + b)!], [b]);
  const again = trainBpe(texts, { vocabSize: 1000 });
  assert.equal(again.merges(), bpe.merges());
  function* gen() {
    yield* texts;
  }
  assert.equal(trainBpe(gen(), { vocabSize: 400 }).merges(), trainBpe(texts, { vocabSize: 400 }).merges());
  const one = trainBpe(texts[0], { vocabSize: 300, specials: ['eos', 'pad'] });
  assert.is(one.specialId('eos'), 0);
  assert.is(one.specialId('pad'), 1);
  assert.is(one.specialId('mask'), undefined);
  assert.equal([...one.tokenBytes(2)!], [0]);
  // Frequent English pieces are single tokens.
  assert.is(bpe.encode(' the').length, 1);
  assert.is(bpe.encode(' United States').length, 2);
});

test('the heap and the scan merge identically (random tables, words of 1..300 tokens)', () => {
  const r = rng();
  for (let round = 0; round < 30; round++) {
    const alphabet = r.int(2, 6);
    const table = new MergeTable();
    let next = alphabet;
    const ids: number[] = Array.from({ length: alphabet }, (_, i) => i);
    const nPairs = r.int(1, 40);
    for (let rank = 0; rank < nPairs; rank++) {
      const a = ids[r.int(0, ids.length)];
      const b = ids[r.int(0, ids.length)];
      table.set(a, b, rank, next);
      ids.push(next++);
    }
    for (let t = 0; t < 20; t++) {
      const n = r.int(1, 300);
      const word = Int32Array.from({ length: n }, () => r.int(0, alphabet));
      const x = word.slice();
      const y = word.slice();
      const nx = mergeWordScan(x, n, table);
      const ny = mergeWordHeap(y, n, table);
      assert.equal([...y.subarray(0, ny)], [...x.subarray(0, nx)], `round ${round} word ${t}`);
    }
  }
});

test('decode(encode(s)) === s for any JS string, lone surrogates included', () => {
  fc.assert(fc.property(anyText, (s) => assert.is(bpe.decode(bpe.encode(s)), s)), fcSeed());
  fc.assert(fc.property(surrogateHeavy, (s) => assert.is(bpe.decode(bpe.encode(s, { specials: 'all' })), s)), fcSeed());
  for (const s of TRICKY) assert.is(bpe.decode(bpe.encode(s)), s);
  const whole = texts.join('');
  assert.is(bpe.decode(bpe.encode(whole)), whole);
});

test('long runs and very long words round-trip (heap path) quickly', () => {
  const r = rng();
  const letters = Array.from({ length: 200_000 }, () => String.fromCharCode(97 + r.int(0, 26))).join('');
  for (const s of ['a'.repeat(100_000), ' '.repeat(50_000), '😀'.repeat(30_000), letters, '\ud800'.repeat(20_000), 'ab'.repeat(50_000)]) {
    const t0 = performance.now();
    const ids = bpe.encode(s);
    assert.is(bpe.decode(ids), s);
    assert.ok(ids.length < s.length * 4 + 1);
    assert.ok(performance.now() - t0 < 3000, `${s.length} code units took ${(performance.now() - t0).toFixed(0)} ms`);
  }
});

test('special strings: plain text by default, one id each with { specials: "all" }', () => {
  const eos = bpe.specialId('eos')!;
  assert.ok(!bpe.encode('x<|endoftext|>y').includes(eos));
  const ids = bpe.encode('x<|endoftext|>y<|mask|><|mask|>', { specials: 'all' });
  assert.equal([...ids], [...bpe.encode('x'), eos, ...bpe.encode('y'), bpe.specialId('mask')!, bpe.specialId('mask')!]);
  assert.is(bpe.decode(ids), 'x<|endoftext|>y<|mask|><|mask|>');
});

test.run();
