/** Tokenizers refuse bad input with errors naming the function, the argument, what was expected and what came. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { GlmError } from '../lib/errors';
import { buildTokenizer, CharTokenizer, fromHuggingFaceJSON, loadTokenizer, saveTokenizer, trainBpe, type Tokenizer } from '../lib/tokenizer/index';
import { assertThrows } from './helpers/assert';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-tokenizer-errors-'));
const bpe = trainBpe('the cat sat on the mat with the hat', { vocabSize: 270 });
const char = CharTokenizer.fromCorpus('abc');
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

test('loadTokenizer: missing file, directory, malformed JSON, non-string path', async () => {
  const missing = path.join(dir, 'nope.json');
  await assertThrows(() => loadTokenizer(missing), "loadTokenizer: argument 'path': expected a readable tokenizer.json file, got", missing, 'no such file');
  await assertThrows(() => loadTokenizer(dir), "argument 'path'", 'a directory');
  await assertThrows(() => loadTokenizer(write('bad.json', '{"model": {')), "loadTokenizer: argument 'path': expected a file of valid JSON, got", 'bad.json');
  await assertThrows(() => loadTokenizer(42 as unknown as string), "loadTokenizer: argument 'path': expected a non-empty string, got 42");
  let caught: unknown;
  try {
    loadTokenizer(missing);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof GlmError);
  assert.is((caught as GlmError).argument, 'path');
});

test('tokenizer.json content: unsupported models and broken vocab or merges', async () => {
  const good = bpe.toHuggingFaceJSON();
  const withModel = (m: object) => ({ ...good, model: { ...good.model, ...m } });
  await assertThrows(() => loadTokenizer(write('wp.json', JSON.stringify(withModel({ type: 'WordPiece' })))), 'loadTokenizer', 'model.type', 'expected "BPE"', 'got "WordPiece"');
  await assertThrows(() => fromHuggingFaceJSON([]), "fromHuggingFaceJSON: argument 'json: (top level)': expected a tokenizer.json object, got an array");
  await assertThrows(() => fromHuggingFaceJSON(withModel({ merges: ['Ġ t x'] })), 'model.merges[0]', 'expected "a b"', 'got "Ġ t x"');
  await assertThrows(() => fromHuggingFaceJSON(withModel({ merges: [['zz', 'q']] })), 'model.merges[0]', 'concatenation is a vocab token');
  await assertThrows(() => fromHuggingFaceJSON(withModel({ merges: 'a b' })), 'model.merges', 'expected an array', 'got "a b"');
  await assertThrows(() => fromHuggingFaceJSON(withModel({ vocab: { ...good.model.vocab, 'a b': 999 } })), 'model.vocab["a b"]', 'ByteLevel spelling');
  await assertThrows(() => fromHuggingFaceJSON(withModel({ vocab: { ...good.model.vocab, zz: -1 } })), 'model.vocab["zz"]', 'expected an integer id >= 0', 'got -1');
  await assertThrows(() => fromHuggingFaceJSON({ ...good, pre_tokenizer: { type: 'Whitespace' } }), 'pre_tokenizer', 'ByteLevel');
  await assertThrows(() => fromHuggingFaceJSON({ ...good, normalizer: { type: 'NFC' } }), 'normalizer', 'expected null');
  const charJson = char.toHuggingFaceJSON();
  const vocab = { ...charJson.model.vocab };
  delete vocab['<0x41>'];
  await assertThrows(() => fromHuggingFaceJSON({ ...charJson, model: { ...charJson.model, vocab } }), 'all 256 byte-fallback tokens', 'no <0x41>');
  await assertThrows(() => fromHuggingFaceJSON({ ...charJson, model: { ...charJson.model, merges: ['a b'] } }), 'model.merges', 'SentencePiece style', '1 merges');
  await assertThrows(() => fromHuggingFaceJSON({ ...charJson, model: { ...charJson.model, vocab: { ...charJson.model.vocab, ab: 9999 } } }), 'model.vocab["ab"]', 'one character');
});

test('training and building: vocabulary below 256 + specials, bad corpus, bad options', async () => {
  await assertThrows(() => trainBpe('abc', { vocabSize: 261 }), "trainBpe: argument 'options.vocabSize': expected an integer in [262, 2097152] (256 byte tokens + 6 specials at least), got 261");
  await assertThrows(() => trainBpe('abc', { vocabSize: 300.5 }), 'options.vocabSize', 'got 300.5');
  await assertThrows(() => trainBpe('abc', { vocabSize: '300' as unknown as number }), 'options.vocabSize', 'got "300"');
  await assertThrows(() => trainBpe('abc', { vocabSize: 256, specials: ['eos'] }), 'expected an integer in [257,', 'got 256');
  assert.is(trainBpe('abc', { vocabSize: 257, specials: ['eos'] }).vocabSize, 257, 'one special needs 257');
  await assertThrows(() => trainBpe('abc', { vocabSize: 300, specials: ['eos', 'unk' as 'eos'] }), "argument 'specials'", 'got "unk"');
  await assertThrows(() => trainBpe(42 as unknown as string, { vocabSize: 300 }), "trainBpe: argument 'corpus': expected a string or an iterable of strings, got 42");
  await assertThrows(() => trainBpe(['ok', 7] as unknown as string[], { vocabSize: 300 }), "argument 'corpus[1]': expected a string, got 7");
  await assertThrows(() => trainBpe('abc', undefined as unknown as { vocabSize: number }), "argument 'options'");
  await assertThrows(() => CharTokenizer.fromCorpus('abc', { vocabSize: 100 }), "CharTokenizer.fromCorpus: argument 'options.vocabSize': expected an integer >= 262", 'got 100');
  await assertThrows(() => buildTokenizer('word' as 'char', 'abc'), "buildTokenizer: argument 'kind'", 'got "word"');
  await assertThrows(() => buildTokenizer('bpe', 'abc'), "argument 'options.vocabSize'", 'for a bpe tokenizer');
  await assertThrows(() => saveTokenizer({} as Tokenizer, path.join(dir, 'x.json')), "saveTokenizer: argument 'tokenizer': expected a Tokenizer");
});

test('encode and decode: non-string text, bad options, ids out of range or not integers, non-arrays', async () => {
  for (const tok of [bpe, char] as Tokenizer[]) {
    const cls = tok.kind === 'char' ? 'CharTokenizer' : 'BpeTokenizer';
    const V = tok.vocabSize;
    await assertThrows(() => tok.encode(42 as unknown as string), `${cls}.encode: argument 'text': expected a string, got 42`);
    await assertThrows(() => tok.encode(null as unknown as string), `${cls}.encode: argument 'text'`, 'got null');
    await assertThrows(() => tok.encode('a', { specials: 'some' as 'all' }), "argument 'options.specials'", "expected 'none' or 'all'", 'got "some"');
    await assertThrows(() => tok.decode([0, 1, V]), `${cls}.decode: argument 'ids[2]': expected an integer token id in [0, ${V}), got ${V}`);
    await assertThrows(() => tok.decode([-1]), "argument 'ids[0]'", 'got -1');
    await assertThrows(() => tok.decode([1.5]), "argument 'ids[0]'", 'got 1.5');
    await assertThrows(() => tok.decode([NaN]), "argument 'ids[0]'", 'got NaN');
    await assertThrows(() => tok.decode('abc' as unknown as number[]), `${cls}.decode: argument 'ids': expected an array or typed array of token ids, got "abc"`);
    await assertThrows(() => tok.decode(undefined as unknown as number[]), "argument 'ids'", 'got undefined');
    await assertThrows(() => tok.specialId('unk' as 'eos'), `${cls}.specialId: argument 'name'`, 'got "unk"');
  }
  // An id inside the range that no token has (a gap in a loaded vocab).
  const json = char.toHuggingFaceJSON();
  const gap = fromHuggingFaceJSON({ ...json, model: { ...json.model, vocab: { ...json.model.vocab, z: 5000 } } });
  assert.is(gap.vocabSize, 5001);
  assert.is(gap.decode([5000]), 'z');
  await assertThrows(() => gap.decode([4000]), "argument 'ids[0]'", 'that is assigned to a token', 'got 4000');
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test.run();
