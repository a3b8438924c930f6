/** Hugging Face tokenizer.json: save/load round trips, both merges formats, and HF's semantics via a reference. */
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { BpeTokenizer, CharTokenizer, fromHuggingFaceJSON, loadTokenizer, saveTokenizer, trainBpe, type Tokenizer } from '../lib/tokenizer/index';
import { rng } from './helpers/random';
import { hfDecode, hfEncode } from './reference/hfTokenizer';
import { anyText, fullUnicode, sotuTexts, TRICKY } from './reference/tokenizerCorpus';

const fcSeed = () => ({ seed: rng().int(0, 2 ** 31), numRuns: 200 });
const texts = sotuTexts(150_000);
// "constructor" and "__proto__" made frequent: vocab keys that must not collide with Object.prototype.
const corpus = [...texts, ...Array<string>(300).fill('constructor __proto__ hasOwnProperty')];
const bpe = trainBpe(corpus, { vocabSize: 800 });
const char = CharTokenizer.fromCorpus(texts);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-tokenizer-'));

const sameIds = (a: Tokenizer, b: Tokenizer, s: string) => assert.equal([...b.encode(s)], [...a.encode(s)], JSON.stringify(s.slice(0, 40)));

test('the byte-level BPE JSON has the HF shape', () => {
  const json = bpe.toHuggingFaceJSON();
  assert.is(json.model.type, 'BPE');
  assert.equal(json.pre_tokenizer, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  assert.is(json.decoder!.type, 'ByteLevel');
  assert.is(Object.keys(json.model.vocab).length, 800);
  assert.equal(new Set(Object.values(json.model.vocab)).size, 800);
  assert.is(json.model.merges.length, bpe.merges().length);
  for (const m of json.model.merges as string[]) assert.is(m.split(' ').length, 2);
  assert.equal(json.added_tokens.map((t) => [t.id, t.content, t.special]), [...bpe.specialTokens].map(([c, id]) => [id, c, true]));
  assert.is(bpe.encode('constructor').length, 1);
  assert.ok(Object.prototype.hasOwnProperty.call(json.model.vocab, 'constructor'));
  assert.is(json.model.vocab['constructor'], bpe.encode('constructor')[0]);
  assert.is(JSON.parse(JSON.stringify(json)).model.vocab['constructor'], bpe.encode('constructor')[0]);
});

test('byte-level BPE: save, load (both merges formats), same ids and text', () => {
  for (const merges of ['strings', 'pairs'] as const) {
    const file = path.join(dir, `bpe-${merges}.json`);
    bpe.save(file, { merges });
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(merges === 'pairs' ? text.includes('"merges": [\n      [\n') : /"merges": \[\n {6}"/.test(text), `${merges} written`);
    const back = loadTokenizer(file);
    assert.ok(back instanceof BpeTokenizer);
    assert.is(back.kind, 'bpe');
    assert.is(back.vocabSize, bpe.vocabSize);
    assert.equal(back.specialTokens, bpe.specialTokens);
    assert.equal((back as BpeTokenizer).merges(), bpe.merges());
    for (const s of [...TRICKY, texts[0], 'constructor __proto__ hasOwnProperty']) sameIds(bpe, back, s);
    fc.assert(fc.property(anyText, (s) => {
      sameIds(bpe, back, s);
      assert.is(back.decode(bpe.encode(s)), s);
    }), fcSeed());
  }
  assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp files left by the atomic writes');
});

test('char tokenizer: save, load, same ids and text; loadTokenizer picks the class', () => {
  const file = path.join(dir, 'char.json');
  saveTokenizer(char, file);
  const back = loadTokenizer(file);
  assert.ok(back instanceof CharTokenizer);
  assert.is(back.kind, 'char');
  assert.is(back.vocabSize, char.vocabSize);
  assert.equal(back.specialTokens, char.specialTokens);
  assert.equal(back.toHuggingFaceJSON(), char.toHuggingFaceJSON());
  for (const s of TRICKY) sameIds(char, back, s);
  fc.assert(fc.property(anyText, (s) => {
    sameIds(char, back, s);
    assert.is(back.decode(char.encode(s)), s);
  }), fcSeed());
});

test('HF semantics (independent reference) give our ids and text for valid Unicode', () => {
  for (const tok of [bpe, char]) {
    const json = JSON.parse(JSON.stringify(tok.toHuggingFaceJSON()));
    const check = (s: string) => {
      const ids = tok.encode(s);
      assert.equal([...ids], hfEncode(json, s), `${tok.kind} ${JSON.stringify(s.slice(0, 40))}`);
      assert.is(hfDecode(json, ids), s);
    };
    for (const s of TRICKY.filter((t) => !t.includes('<|'))) check(s);
    check(texts[1].slice(0, 20_000));
    fc.assert(fc.property(fullUnicode, check), fcSeed());
    // Specials decode as their content in both.
    const ids = tok.encode('a<|endoftext|>b<|mask|>', { specials: 'all' });
    assert.is(hfDecode(json, ids), 'a<|endoftext|>b<|mask|>');
    assert.is(tok.decode(ids), 'a<|endoftext|>b<|mask|>');
  }
});

test('merges as pairs and as strings load to the same tokenizer; HF-written fields are accepted', () => {
  const json = JSON.parse(JSON.stringify(bpe.toHuggingFaceJSON()));
  const asPairs = { ...json, model: { ...json.model, merges: json.model.merges.map((m: string) => m.split(' ')) } };
  // Fields HF writes that we do not: empty-string prefixes, no ignore_merges, a ByteLevel post-processor.
  const hfStyle = {
    ...json,
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    model: { ...json.model, continuing_subword_prefix: '', end_of_word_suffix: '', ignore_merges: undefined },
  };
  const a = fromHuggingFaceJSON(json) as BpeTokenizer;
  const b = fromHuggingFaceJSON(asPairs) as BpeTokenizer;
  const c = fromHuggingFaceJSON(hfStyle) as BpeTokenizer;
  assert.equal(b.merges(), a.merges());
  assert.equal(c.merges(), a.merges());
  for (const s of TRICKY) {
    sameIds(a, b, s);
    sameIds(a, c, s);
  }
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test.run();
