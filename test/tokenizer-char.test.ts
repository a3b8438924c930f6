/** Character-level tokenizer: ids, byte fallback, WTF-8, round trips on any JS string. */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { CharTokenizer, SPECIAL_NAMES, SPECIAL_TOKENS } from '../lib/tokenizer/index';
import { wtf8Decode, wtf8Encode } from '../lib/tokenizer/wtf8';
import { rng } from './helpers/random';
import { anyCodeUnits, anyText, fullUnicode, sotuTexts, surrogateHeavy, TRICKY } from './reference/tokenizerCorpus';

const fcSeed = () => ({ seed: rng().int(0, 2 ** 31), numRuns: 300 });
const texts = sotuTexts(300_000);
const tok = CharTokenizer.fromCorpus(texts);
const k = SPECIAL_NAMES.length;

test('WTF-8 is UTF-8 on valid text and keeps lone surrogates as ED A0..BF 80..BF', () => {
  fc.assert(fc.property(fullUnicode, (s) => assert.equal([...wtf8Encode(s)], [...new TextEncoder().encode(s)])), fcSeed());
  assert.equal([...wtf8Encode('\ud800')], [0xed, 0xa0, 0x80]);
  assert.equal([...wtf8Encode('\udfff')], [0xed, 0xbf, 0xbf]);
  assert.equal([...wtf8Encode('\ud83d\ude00')], [0xf0, 0x9f, 0x98, 0x80]);
  assert.equal([...wtf8Encode('\ude00\ud83d')], [0xed, 0xb8, 0x80, 0xed, 0xa0, 0xbd]); // reversed pair: two lone halves
  fc.assert(fc.property(anyCodeUnits, (s) => assert.is(wtf8Decode(wtf8Encode(s)), s)), fcSeed());
  assert.is(wtf8Decode(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41)), '\ufeffA', 'a leading BOM is kept');
  assert.is(wtf8Decode(Uint8Array.of(0x80, 0x41, 0xff)), '\ufffdA\ufffd', 'invalid bytes become U+FFFD');
});

test('ids: specials first, then <0x00>..<0xFF>, then the corpus characters in code point order', () => {
  SPECIAL_NAMES.forEach((name, i) => {
    assert.is(tok.specialId(name), i, name);
    assert.is(tok.specialTokens.get(SPECIAL_TOKENS[name]), i);
  });
  const distinct = [...new Set(texts.join(''))].map((c) => c.codePointAt(0)!).sort((a, b) => a - b);
  assert.is(tok.charCount, distinct.length);
  assert.is(tok.vocabSize, k + 256 + distinct.length);
  const ids = tok.encode(distinct.map((cp) => String.fromCodePoint(cp)).join(''));
  assert.equal([...ids], distinct.map((_, i) => k + 256 + i));
  // Deterministic: the same corpus in another order of files gives the same tokenizer.
  const again = CharTokenizer.fromCorpus([...texts].reverse());
  assert.equal(again.toHuggingFaceJSON(), tok.toHuggingFaceJSON());
});

test('unseen characters and lone surrogates fall back to their WTF-8 bytes', () => {
  assert.ok(!texts.join('').includes('中'));
  assert.equal([...tok.encode('中')], [0xe4, 0xb8, 0xad].map((b) => k + b));
  assert.equal([...tok.encode('😀')], [0xf0, 0x9f, 0x98, 0x80].map((b) => k + b));
  assert.equal([...tok.encode('\udc00')], [0xed, 0xb0, 0x80].map((b) => k + b));
  const a = tok.encode('a')[0];
  assert.equal([...tok.encode('a\ud800a')], [a, k + 0xed, k + 0xa0, k + 0x80, a]);
  assert.is(tok.decode(tok.encode('a\ud800a')), 'a\ud800a');
});

test('decode(encode(s)) === s for any JS string (full Unicode, code units, lone surrogates, tricky text)', () => {
  fc.assert(fc.property(anyText, (s) => assert.is(tok.decode(tok.encode(s)), s)), fcSeed());
  fc.assert(fc.property(surrogateHeavy, (s) => assert.is(tok.decode(tok.encode(s, { specials: 'all' })), s)), fcSeed());
  for (const s of TRICKY) assert.is(tok.decode(tok.encode(s)), s);
  const whole = texts.join('');
  assert.is(tok.decode(tok.encode(whole)), whole);
  assert.is(tok.encode(whole).length, [...whole].length, 'one id per code point on the corpus itself');
});

test('special strings: plain text by default, special ids with { specials: "all" }', () => {
  const eos = tok.specialId('eos')!;
  const plain = tok.encode('a<|endoftext|>b');
  assert.is(plain.length, 15);
  assert.ok(!plain.includes(eos));
  const special = tok.encode('a<|endoftext|>b<|pad|>', { specials: 'all' });
  assert.equal([...special], [tok.encode('a')[0], eos, tok.encode('b')[0], tok.specialId('pad')!]);
  assert.is(tok.decode(special), 'a<|endoftext|>b<|pad|>');
});

test('vocabSize cap keeps the most frequent characters; fewer specials shift the ids', () => {
  const counts = new Map<string, number>();
  for (const c of texts.join('')) counts.set(c, (counts.get(c) ?? 0) + 1);
  const top = [...counts].sort((x, y) => y[1] - x[1] || x[0].codePointAt(0)! - y[0].codePointAt(0)!).slice(0, 10).map((x) => x[0]);
  const small = CharTokenizer.fromCorpus(texts, { vocabSize: k + 256 + 10 });
  assert.is(small.vocabSize, k + 256 + 10);
  assert.is(small.charCount, 10);
  const sorted = [...top].sort((x, y) => x.codePointAt(0)! - y.codePointAt(0)!);
  assert.equal([...small.encode(sorted.join(''))], sorted.map((_, i) => k + 256 + i));
  const one = CharTokenizer.fromCorpus('ba', { specials: ['eos'] });
  assert.is(one.vocabSize, 1 + 256 + 2);
  assert.is(one.specialId('eos'), 0);
  assert.is(one.specialId('bos'), 0, 'bos falls back to eos');
  assert.is(one.specialId('pad'), undefined);
  assert.equal([...one.encode('ab')], [257, 258]);
  fc.assert(fc.property(anyText, (s) => assert.is(small.decode(small.encode(s)), s)), fcSeed());
});

test.run();
