/**
 * lib/data/shard.ts and shardFormat.ts: ids read back equal the ids of encoding each document whole
 * (u16 and u32 paths, text separator and eos separator), the header, truncated/corrupt/foreign files as
 * errors, ensureShard reusing a fresh shard and rebuilding a stale or damaged one, bad tokenizer
 * output, and that a failed build leaves the old shard and no temp file behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Corpus, resolveCorpus } from '../lib/data/corpus';
import { buildShard, DOCUMENT_SEPARATOR, ensureShard, openShard, readShardHeader, shardFingerprint, TokenizerLike } from '../lib/data/shard';
import { SHARD_HEADER_BYTES } from '../lib/data/shardFormat';
import { GlmError } from '../lib/errors';
import { assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-data-shard-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => path.join(root, `${counter++}-${name}`);

/** UTF-16 code units as ids: vocabulary 65536, so the shard stores u16. */
const charTokenizer: TokenizerLike = {
  vocabSize: 65536,
  encode: (text) => Uint16Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)),
};
/** Unicode code points as ids: vocabulary 0x110000, so the shard stores u32. */
const codePointTokenizer: TokenizerLike = {
  vocabSize: 0x110000,
  encode: (text) => Array.from(text, (c) => c.codePointAt(0)!),
};
const decodeCodePoints = (ids: ArrayLike<number>) => Array.from(ids as Iterable<number>, (id) => String.fromCodePoint(id)).join('');

/** A directory of n documents of random text (with characters outside the BMP) and its corpus. */
async function makeCorpus(n: number, words = 400): Promise<{ corpus: Corpus; texts: string[]; dir: string }> {
  const r = rng();
  const dir = fresh('corpus');
  fs.mkdirSync(dir);
  const vocab = ['state', 'of', 'the', 'union', 'naïve', 'Ελλάδα', '日本', '🙂', 'x', '42'];
  const texts: string[] = [];
  for (let d = 0; d < n; d++) {
    const t = Array.from({ length: 1 + r.int(0, words) }, () => vocab[r.int(0, vocab.length)] + (r.next() < 0.1 ? '.\n' : ' ')).join('');
    texts.push(t);
    fs.writeFileSync(path.join(dir, `doc${String(d).padStart(3, '0')}.txt`), t);
  }
  return { corpus: await resolveCorpus([dir]), texts, dir };
}

/** The reference: each document encoded whole, joined by the separator ids. */
function expectedIds(texts: string[], tok: TokenizerLike, separator: number[]): number[] {
  const out: number[] = [];
  texts.forEach((t, i) => {
    if (i > 0) out.push(...separator);
    out.push(...Array.from(tok.encode(t)));
  });
  return out;
}

test('u16 round trip: ids read back equal each document encoded whole, joined by "\\n\\n"', async () => {
  const { corpus, texts } = await makeCorpus(7);
  const file = fresh('u16.bin');
  // Small reads, so every document is encoded in many chunks.
  const { header } = await buildShard(file, corpus, charTokenizer, { chunkBytes: 64 });
  const want = expectedIds(texts, charTokenizer, Array.from(charTokenizer.encode(DOCUMENT_SEPARATOR)));
  assert.is(header.bytesPerToken, 2);
  assert.is(header.tokenCount, want.length);
  assert.is(header.documentCount, 7);
  assert.is(header.vocabSize, 65536);
  assert.is(fs.statSync(file).size, SHARD_HEADER_BYTES + 2 * want.length);
  const shard = await openShard(file);
  assert.instance(shard.tokens, Uint16Array);
  assert.is(shard.length, want.length);
  assert.equal(Array.from(shard.tokens), want);
  assert.equal(await readShardHeader(file), shard.header);
  assert.is(String.fromCharCode(...shard.tokens), texts.join('\n\n'));
});

test('u32 round trip with an eos separator: ids above 65535 survive, eos between documents only', async () => {
  const { corpus, texts } = await makeCorpus(5);
  const eosTok: TokenizerLike = { ...codePointTokenizer, eosId: 0x10ffff };
  const file = fresh('u32.bin');
  const { header } = await buildShard(file, corpus, eosTok, { chunkBytes: 100 });
  assert.is(header.bytesPerToken, 4);
  const shard = await openShard(file);
  assert.instance(shard.tokens, Uint32Array);
  const want = expectedIds(texts, codePointTokenizer, [0x10ffff]);
  assert.equal(Array.from(shard.tokens), want);
  assert.ok(want.some((id) => id > 65535), 'the corpus has ids above u16');
  assert.is(Array.from(shard.tokens).filter((id) => id === 0x10ffff).length, 4);
  assert.is(decodeCodePoints(Array.from(shard.tokens).filter((id) => id !== 0x10ffff)), texts.join(''));
});

test("a lib/tokenizer-style tokenizer: specialId('eos') separates documents, toHuggingFaceJSON is its identity", async () => {
  const { corpus, texts } = await makeCorpus(3, 30);
  let json = { model: 'v1' };
  const tok = { ...charTokenizer, specialId: (name: string) => (name === 'eos' ? 3 : undefined), toHuggingFaceJSON: () => json };
  const file = fresh('special.bin');
  const first = await ensureShard(file, corpus, tok);
  assert.equal(Array.from(first.shard.tokens), expectedIds(texts, charTokenizer, [3]));
  assert.not.ok((await ensureShard(file, corpus, tok)).rebuilt);
  json = { model: 'v2' };
  const second = await ensureShard(file, corpus, tok);
  assert.ok(second.rebuilt, 'a different tokenizer.json rebuilds');
});

test('ensureShard: built once, reused while fresh, rebuilt when sources, tokenizer or chunking change', async () => {
  const { corpus, dir } = await makeCorpus(4);
  const file = fresh('cache.bin');
  const a = await ensureShard(file, corpus, charTokenizer);
  assert.ok(a.rebuilt);
  assert.is(a.reason, 'no shard yet');
  const mtime = fs.statSync(file).mtimeMs;
  const b = await ensureShard(file, corpus, charTokenizer);
  assert.not.ok(b.rebuilt);
  assert.is(b.reason, 'up to date');
  assert.equal(Array.from(b.shard.tokens), Array.from(a.shard.tokens));
  assert.is(fs.statSync(file).mtimeMs, mtime, 'not rewritten');

  // Same mapping on most text but one character differs: the probe text sees it.
  const shifted: TokenizerLike = { vocabSize: 65536, encode: (t) => Uint16Array.from(t, (c) => (c === 'Q' ? 1 : c.charCodeAt(0))) };
  const c = await ensureShard(file, corpus, shifted);
  assert.ok(c.rebuilt);
  assert.is(c.reason, 'sources or tokenizer changed');
  // A declared fingerprint is part of the identity.
  const named = { ...charTokenizer, fingerprint: 'char-v2' };
  assert.ok((await ensureShard(file, corpus, named)).rebuilt);
  assert.not.ok((await ensureShard(file, corpus, named)).rebuilt);

  // A source edited in place (new size and mtime): the corpus resolved again is a different fingerprint.
  const victim = path.join(dir, 'doc002.txt');
  fs.appendFileSync(victim, ' appended words');
  const future = new Date(Date.now() + 5000);
  fs.utimesSync(victim, future, future);
  const corpus2 = await resolveCorpus([dir]);
  assert.is.not(shardFingerprint(corpus2, named), shardFingerprint(corpus, named));
  const d = await ensureShard(file, corpus2, named);
  assert.ok(d.rebuilt);
  assert.ok(fs.readFileSync(victim, 'utf8').endsWith(' appended words'));
  assert.is(String.fromCharCode(...d.shard.tokens).includes('appended words'), true);
  // A touched file (same content, new mtime) also rebuilds: the fingerprint is stat-based.
  fs.utimesSync(victim, new Date(Date.now() + 9000), new Date(Date.now() + 9000));
  assert.ok((await ensureShard(file, await resolveCorpus([dir]), named)).rebuilt);
  // chunkBytes is part of the fingerprint.
  const corpus3 = await resolveCorpus([dir]);
  assert.not.ok((await ensureShard(file, corpus3, named)).rebuilt);
  assert.ok((await ensureShard(file, corpus3, named, { chunkBytes: 4096 })).rebuilt);
});

test('ensureShard replaces a damaged or foreign file and says why', async () => {
  const { corpus, texts } = await makeCorpus(3);
  const file = fresh('damaged.bin');
  await ensureShard(file, corpus, charTokenizer);
  const bytes = fs.readFileSync(file);
  bytes[SHARD_HEADER_BYTES + 5] ^= 0x40;
  fs.writeFileSync(file, bytes);
  const a = await ensureShard(file, corpus, charTokenizer);
  assert.ok(a.rebuilt);
  assert.match(a.reason, /damaged/);
  assert.is(String.fromCharCode(...a.shard.tokens), texts.join('\n\n'));
  fs.writeFileSync(file, 'not a shard at all, just some text that is long enough to hold a header'.repeat(3));
  const b = await ensureShard(file, corpus, charTokenizer);
  assert.ok(b.rebuilt);
  assert.match(b.reason, /wrong magic bytes/);
});

test('openShard rejects truncated, foreign, future-version and corrupt files with the reason', async () => {
  const { corpus } = await makeCorpus(2);
  const file = fresh('good.bin');
  await buildShard(file, corpus, charTokenizer);
  const good = fs.readFileSync(file);
  const variant = (name: string, edit: (b: Buffer) => Buffer) => {
    const p = fresh(name);
    fs.writeFileSync(p, edit(Buffer.from(good)));
    return p;
  };
  const count = good.readUInt32LE(24);
  const cases: [string, RegExp[]][] = [
    [variant('truncated.bin', (b) => b.subarray(0, b.length - 3)), [/truncated/, new RegExp(`promises ${count} tokens`), new RegExp(`has ${good.length - 3}`)]],
    [variant('longer.bin', (b) => Buffer.concat([b, Buffer.alloc(2)])), [new RegExp(`the file has ${good.length + 2}`)]],
    [variant('short.bin', (b) => b.subarray(0, 50)), [/50 bytes, less than the 128-byte header/]],
    [variant('magic.bin', (b) => (b.write('GLMSHARX', 0, 'latin1'), b)), [/wrong magic bytes/]],
    [variant('version.bin', (b) => (b.writeUInt32LE(2, 8), b)), [/format version 2, this build reads version 1/]],
    [variant('dtype.bin', (b) => (b.writeUInt32LE(3, 16), b)), [/bytes per token 3/]],
    [variant('mismatch.bin', (b) => (b.writeUInt32LE(70000, 20), b)), [/2 bytes per token for a vocabulary of 70000/]],
    [variant('flip.bin', (b) => ((b[b.length - 1] ^= 1), b)), [/damaged/, /SHA-256/]],
    // A smaller vocabulary than the ids (checksum intact): the id range check catches it.
    [variant('vocab.bin', (b) => (b.writeUInt32LE(50, 20), b)), [/outside its vocabulary of 50/]],
  ];
  for (const [p, patterns] of cases) {
    let error: unknown;
    try {
      await openShard(p);
    } catch (e) {
      error = e;
    }
    assert.instance(error, GlmError, `no error for ${path.basename(p)}`);
    assert.ok((error as Error).message.startsWith('openShard: '), (error as Error).message);
    assert.ok((error as Error).message.includes(p), 'names the file');
    for (const re of patterns) assert.match((error as Error).message, re);
  }
  // verify: false skips the payload checks, not the header checks.
  assert.is((await openShard(cases[7][0], { verify: false })).length, count);
  await assertThrows(() => openShard(cases[0][0], { verify: false }), 'truncated');
  await assertThrows(() => openShard(fresh('missing.bin')), 'openShard', 'cannot open token shard', 'no such file');
  await assertThrows(() => readShardHeader(cases[3][0]), 'readShardHeader', 'wrong magic bytes');
});

test('bad tokenizer output or a failing encode: an error naming the file, the old shard kept, no temp file left', async () => {
  const { corpus, dir } = await makeCorpus(3);
  const outDir = fresh('out');
  const file = path.join(outDir, 'tokens.bin');
  await buildShard(file, corpus, charTokenizer);
  const before = fs.readFileSync(file);
  const third = corpus.files[2].path;
  const thirdText = fs.readFileSync(third, 'utf8');
  // The probe and separator see the plain tokenizer; document 2's text gets the bad id.
  const onThird = (badId: number): TokenizerLike => ({
    vocabSize: 65536,
    encode: (text) => {
      const ids = Array.from(charTokenizer.encode(text));
      return text === thirdText ? [...ids, badId] : ids;
    },
  });
  for (const [badId, expectText] of [
    [70000, 'id 70000'],
    [-1, 'id -1'],
    [2.5, 'id 2.5'],
    [NaN, 'id NaN'],
  ] as const) {
    await assertThrows(() => buildShard(file, corpus, onThird(badId)), 'buildShard', expectText, path.basename(third), 'vocabSize = 65536');
  }
  const throwing: TokenizerLike = {
    vocabSize: 65536,
    encode: (t) => {
      if (t === thirdText) throw new Error('boom');
      return charTokenizer.encode(t);
    },
  };
  await assertThrows(() => buildShard(file, corpus, throwing), 'tokenizer.encode failed on text from', path.basename(third), 'boom');
  const notArray: TokenizerLike = { vocabSize: 65536, encode: () => 5 as unknown as number[] };
  await assertThrows(() => buildShard(file, corpus, notArray), 'expected an array of ids');
  assert.ok(before.equals(fs.readFileSync(file)), 'the old shard is untouched');
  assert.equal(fs.readdirSync(outDir), ['tokens.bin'], 'no temp file left');
  // A source that became unreadable text after resolving fails the same way.
  fs.writeFileSync(corpus.files[1].path, Buffer.alloc(fs.statSync(corpus.files[1].path).size));
  await assertThrows(() => buildShard(file, corpus, charTokenizer), 'NUL byte', path.basename(corpus.files[1].path));
  assert.equal(fs.readdirSync(outDir), ['tokens.bin']);
  assert.ok(fs.existsSync(dir));
});

test('argument checks: tokenizer, vocabSize, eosId, corpus, path', async () => {
  const { corpus } = await makeCorpus(1, 5);
  const file = fresh('args.bin');
  await assertThrows(() => buildShard(file, corpus, {} as TokenizerLike), "buildShard: argument 'tokenizer'", 'encode(text) and vocabSize');
  await assertThrows(() => buildShard(file, corpus, { ...charTokenizer, vocabSize: 0 }), "argument 'tokenizer.vocabSize'", 'got 0');
  await assertThrows(() => buildShard(file, corpus, { ...charTokenizer, vocabSize: 2 ** 32 + 1 }), "argument 'tokenizer.vocabSize'");
  await assertThrows(() => buildShard(file, corpus, { ...charTokenizer, eosId: 65536 }), "argument 'tokenizer.eosId'", '[0, 65536)');
  await assertThrows(() => buildShard(file, { ...corpus, files: [] }, charTokenizer), "argument 'corpus'", 'at least one file');
  await assertThrows(() => buildShard('', corpus, charTokenizer), "argument 'file'");
  await assertThrows(() => openShard(3 as unknown as string), "openShard: argument 'path'");
});

test.run();
