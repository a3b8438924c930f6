/** GPT-2's r50k BPE built by our code from js-tiktoken's rank file: the same ids as js-tiktoken. */
import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { fromHuggingFaceJSON, gpt2Tokenizer, r50kRanks } from '../lib/tokenizer/index';
import { rng } from './helpers/random';
import { hfEncode } from './reference/hfTokenizer';
import { anyCodeUnits, fullUnicode, sotuTexts, TRICKY } from './reference/tokenizerCorpus';

const fcSeed = () => ({ seed: rng().int(0, 2 ** 31), numRuns: 200 });
const g = gpt2Tokenizer();
const tiktoken = new Tiktoken(r50kRanks());
// Every 24th address: ~450 KB spread over 230 years of spelling and vocabulary.
const sample = sotuTexts().filter((_, i) => i % 24 === 0);
const plain = (s: string) => tiktoken.encode(s, [], []); // special strings as text, as our default
// js-tiktoken merges a piece in O(n^2) string joins, so its long runs are cut to 300 code units (ours
// take the heap path there; tokenizer-bpe.test.ts checks the heap against the scan).
const tricky = TRICKY.map((s) => (s.length > 300 ? s.slice(0, 300) : s));

test('the same ids as js-tiktoken r50k_base on a corpus sample', () => {
  let chars = 0;
  for (const text of sample) {
    chars += text.length;
    assert.equal([...g.encode(text)], plain(text));
  }
  assert.ok(chars > 300_000, `sample of ${chars} characters`);
});

test('the same ids as js-tiktoken on tricky strings and on random valid Unicode', () => {
  for (const s of tricky) assert.equal([...g.encode(s)], plain(s), JSON.stringify(s.slice(0, 30)));
  fc.assert(fc.property(fullUnicode, (s) => assert.equal([...g.encode(s)], plain(s))), fcSeed());
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => assert.equal([...g.encode(s)], plain(s))), fcSeed());
});

test('<|endoftext|>: text by default, 50256 with { specials: "all" } (as tiktoken allowedSpecial "all")', () => {
  const s = 'end<|endoftext|>start <|endoftext|><|endoftext|>';
  assert.equal([...g.encode(s, { specials: 'all' })], tiktoken.encode(s, 'all'));
  assert.ok(!g.encode(s).includes(50256));
  assert.is(g.vocabSize, 50257);
  assert.is(g.kind, 'gpt2');
  assert.is(g.specialId('eos'), 50256);
  assert.is(g.specialId('bos'), 50256);
  assert.is(g.specialId('pad'), undefined);
});

test('decode agrees with js-tiktoken, and round-trips any JS string (lone surrogates via WTF-8)', () => {
  for (const text of sample.slice(0, 3)) {
    const ids = plain(text);
    assert.is(g.decode(ids), tiktoken.decode(ids));
    assert.is(g.decode(ids), text);
  }
  fc.assert(fc.property(anyCodeUnits, (s) => assert.is(g.decode(g.encode(s)), s)), fcSeed());
  // Where js-tiktoken writes U+FFFD for a lone surrogate, we keep its WTF-8 bytes.
  assert.is(g.decode(g.encode('a\ud800b')), 'a\ud800b');
  assert.is(tiktoken.decode(tiktoken.encode('a\ud800b')), 'a\ufffdb');
});

test('tokenizer.json of GPT-2: recognised on load; its merges alone (HF rule) give the same ids', () => {
  const json = JSON.parse(JSON.stringify(g.toHuggingFaceJSON()));
  assert.is(json.model.merges.length, 50000);
  assert.is(json.model.merges[0], 'Ġ t');
  assert.is(json.model.vocab['Ġthe'], 262);
  assert.is(fromHuggingFaceJSON(json), g);
  // HF's default rule: no whole-piece shortcut (ignore_merges false), merges list only.
  json.model.ignore_merges = false;
  const explicit = fromHuggingFaceJSON(json, { detectGpt2: false });
  assert.is(explicit.kind, 'bpe');
  for (const text of sample.slice(0, 6)) assert.equal([...explicit.encode(text)], plain(text));
  for (const s of tricky) assert.equal([...explicit.encode(s)], plain(s));
  // The independent HF reference, on the recovered merges, agrees too.
  for (const s of [...tricky, sample[3].slice(0, 8000)]) assert.equal(hfEncode(json, s), plain(s));
});

test.run();
