/**
 * The claim of lib/data/text.ts's safe cuts, checked with real BPE tokenizers (GPT-2's r50k and
 * cl100k, from js-tiktoken): a shard built from text streamed in tiny chunks holds exactly the ids of
 * encoding every document whole. cl100k's vocabulary (100277) also exercises the u32 shard path with a
 * real tokenizer.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import gpt2 from 'js-tiktoken/ranks/gpt2';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { defaultCorpus, resolveCorpus } from '../lib/data/corpus';
import { buildShard, DOCUMENT_SEPARATOR, openShard, TokenizerLike } from '../lib/data/shard';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-data-cuts-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Text that stresses pre-tokenizers: runs of spaces and newlines, contractions, digits, CRLF, punctuation before newlines. */
const TRICKY =
  "It's  a   test.\n\n\nWe've  got 12345 numbers, 3.14159 and 1,000,000 dollars!\r\n" +
  '   Indented line\twith tabs\t\tand trailing spaces   \n' +
  "Don't stop: they'll say \"ok\"...\n(parenthesis) [brackets] {braces} — em dash, naïve café, 日本語 text 🙂 emoji.\n" +
  'x'.repeat(50) + ' ' + 'word '.repeat(40) + '\n';

test('shards built in 200-byte chunks equal whole-document encoding, for GPT-2 and cl100k', async () => {
  const sotu = await defaultCorpus();
  const tricky = path.join(root, 'tricky.txt');
  fs.writeFileSync(tricky, TRICKY.repeat(20));
  // Three addresses (about 60 KB) and the tricky text.
  const inputs = [sotu.files[0].path, sotu.files[100].path, sotu.files[sotu.files.length - 1].path, tricky];
  const corpus = await resolveCorpus(inputs);
  for (const [name, ranks] of [
    ['gpt2', gpt2],
    ['cl100k', cl100k],
  ] as const) {
    const enc = new Tiktoken(ranks);
    const tok: TokenizerLike = { vocabSize: name === 'gpt2' ? 50257 : 100277, encode: (t) => enc.encode(t) };
    const file = path.join(root, `${name}.bin`);
    const { header, stats } = await buildShard(file, corpus, tok, { chunkBytes: 200 });
    const shard = await openShard(file);
    assert.is(header.bytesPerToken, name === 'gpt2' ? 2 : 4);
    assert.is(stats.hardCuts, 0);
    const want: number[] = [];
    const sep = enc.encode(DOCUMENT_SEPARATOR);
    corpus.files.forEach((f, i) => {
      if (i > 0) want.push(...sep);
      want.push(...enc.encode(fs.readFileSync(f.path, 'utf8')));
    });
    assert.is(shard.length, want.length, `${name}: token count`);
    const got = Array.from(shard.tokens);
    const firstDiff = got.findIndex((id, i) => id !== want[i]);
    assert.is(firstDiff, -1, `${name}: first differing id at ${firstDiff}`);
  }
});

test('cutting at a newline instead would change GPT-2 ids (why the safe point is letter | " letter")', () => {
  // A guard that the test above can fail: the text cut after "\n\n" encodes differently.
  const enc = new Tiktoken(gpt2);
  const text = 'One paragraph.\n\nAnother one.';
  const cut = text.indexOf('\n\n') + 2;
  const whole = enc.encode(text);
  const pieces = [...enc.encode(text.slice(0, cut)), ...enc.encode(text.slice(cut))];
  assert.not.equal(pieces, whole);
});

test.run();
