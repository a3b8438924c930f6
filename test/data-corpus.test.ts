/**
 * lib/data/corpus.ts and lib/data/reader.ts: resolving files, directories and the default corpus
 * (order, hidden/empty/binary files, extensions, links), every bad input as a clear error, and the
 * streamed text: exactly the files' text, multi-byte characters across reads, chunks cut at safe
 * points and bounded, binary content found late, files that change.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { defaultCorpusDir, resolveCorpus } from '../lib/data/corpus';
import { newReadStats, readCorpus } from '../lib/data/reader';
import { GlmError } from '../lib/errors';
import { assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-data-corpus-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

let dirCounter = 0;
/** A fresh directory with the given files (name -> content). */
function tree(files: Record<string, string | Uint8Array>): string {
  const dir = path.join(root, `t${dirCounter++}`);
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
  return dir;
}

/** All text the reader yields, per document, plus the chunks. */
async function readAll(corpus: Awaited<ReturnType<typeof resolveCorpus>>, options: Parameters<typeof readCorpus>[1] = {}) {
  const docs: string[] = corpus.files.map(() => '');
  const chunks: { text: string; document: number }[] = [];
  for await (const c of readCorpus(corpus, options)) {
    docs[c.document] += c.text;
    chunks.push(c);
  }
  return { docs, chunks };
}

/** Some English with non-ASCII characters of every UTF-8 length. */
function prose(r: ReturnType<typeof rng>, words: number): string {
  const vocab = ['the', 'union', 'state', 'naïve', 'café', 'Ελλάδα', '日本', 'emoji🙂', 'and', 'of', 'peace', 'x'];
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    out.push(vocab[r.int(0, vocab.length)]);
    const p = r.next();
    if (p < 0.05) out.push('.\n');
    else if (p < 0.07) out.push('\n\n');
    else out.push(' ');
  }
  return out.join('');
}

test('default corpus: no inputs or [] resolve to the SOTU .txt files, sorted, > 200 documents and > 5 MB', async () => {
  for (const inputs of [undefined, []]) {
    const c = await resolveCorpus(inputs);
    assert.ok(c.isDefault);
    assert.ok(c.files.length > 200, `${c.files.length} documents`);
    assert.ok(c.totalBytes > 5e6, `${c.totalBytes} bytes`);
    const names = c.files.map((f) => path.basename(f.path));
    assert.ok(names.every((n) => n.endsWith('.txt')));
    assert.equal(names, [...names].sort(), 'sorted by name');
    assert.ok(names[0].startsWith('1790'), names[0]);
    assert.is(c.totalBytes, c.files.reduce((s, f) => s + fs.statSync(f.path).size, 0));
    // Every .txt of the package is there.
    assert.is(c.files.length, fs.readdirSync(defaultCorpusDir()).filter((n) => n.endsWith('.txt')).length);
  }
});

test('a directory: recursive, sorted by code units, hidden/empty/binary files skipped with reasons', async () => {
  const dir = tree({
    'b.txt': 'bee text',
    'B.txt': 'capital bee',
    'a/z.md': 'markdown',
    'a/a.txt': 'inner a',
    '.hidden.txt': 'secret',
    '.git/config': 'core',
    'empty.txt': '',
    'image.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    'latin1.txt': new Uint8Array([0x63, 0x61, 0x66, 0xe9]), // "café" in Latin-1: 1 invalid byte in 4
  });
  const c = await resolveCorpus([dir]);
  assert.not.ok(c.isDefault);
  assert.equal(
    c.files.map((f) => path.relative(dir, f.path)),
    ['B.txt', path.join('a', 'a.txt'), path.join('a', 'z.md'), 'b.txt'],
  );
  const reasons = Object.fromEntries(c.skipped.map((s) => [path.relative(dir, s.path), s.reason]));
  assert.is(reasons['.hidden.txt'], 'hidden');
  assert.is(reasons['.git'], 'hidden');
  assert.match(reasons['empty.txt'], /empty/);
  assert.match(reasons['image.png'], /NUL byte at byte 8/);
  assert.match(reasons['latin1.txt'], /not UTF-8/);
  assert.is(c.totalBytes, 8 + 11 + 8 + 7);
  const { docs } = await readAll(c);
  assert.equal(docs, ['capital bee', 'inner a', 'markdown', 'bee text']);
});

test('extensions filter directories only; files and directories mix in the order given; duplicates read once', async () => {
  const dir = tree({ 'x.txt': 'x', 'y.md': 'y', 'z.TXT': 'z', 'w.csv': 'w' });
  const c = await resolveCorpus([path.join(dir, 'w.csv'), dir, path.join(dir, 'x.txt')], { extensions: ['txt'] });
  assert.equal(c.files.map((f) => path.basename(f.path)), ['w.csv', 'x.txt', 'z.TXT']);
  assert.ok(c.skipped.some((s) => path.basename(s.path) === 'y.md' && /extension/.test(s.reason)));
  await assertThrows(() => resolveCorpus([dir], { extensions: [] }), "argument 'options.extensions'");
  await assertThrows(() => resolveCorpus([dir], { extensions: ['.'] }), "argument 'options.extensions'");
});

test('symbolic links are followed, a link loop is walked once', async () => {
  const dir = tree({ 'sub/a.txt': 'alpha' });
  fs.symlinkSync(path.join(dir, 'sub'), path.join(dir, 'sub', 'loop'));
  fs.symlinkSync(path.join(dir, 'sub', 'a.txt'), path.join(dir, 'link.txt'));
  const c = await resolveCorpus([dir]);
  assert.is(c.files.length, 1, c.files.map((f) => f.path).join(', '));
});

test('bad inputs: each a GlmError naming the argument, the path, what was expected and why', async () => {
  const dir = tree({ 'empty.txt': '', 'nul.txt': 'text\u0000more', 'junk.bin': new Uint8Array(600).map((_, i) => 0x80 + ((i * 37) % 120)), 'ok.txt': 'fine' });
  const missing = path.join(dir, 'nope.txt');
  const cases: [string[], RegExp[]][] = [
    [[missing], [/resolveCorpus: argument 'inputs\[0\]'/, /an existing file or directory/, /nope\.txt/, /no such file or directory/]],
    [[path.join(dir, 'ok.txt'), path.join(dir, 'empty.txt')], [/argument 'inputs\[1\]'/, /non-empty UTF-8 text file/, /empty\.txt/, /empty \(0 bytes\)/]],
    [[path.join(dir, 'nul.txt')], [/argument 'inputs\[0\]'/, /nul\.txt/, /NUL byte at byte 4/]],
    [[path.join(dir, 'junk.bin')], [/junk\.bin/, /not UTF-8 text/, /invalid UTF-8 sequence/]],
    [[''], [/argument 'inputs\[0\]'/, /empty string/]],
  ];
  for (const [inputs, patterns] of cases) {
    let error: unknown;
    try {
      await resolveCorpus(inputs);
    } catch (e) {
      error = e;
    }
    assert.instance(error, GlmError, `no GlmError for ${inputs}`);
    const e = error as GlmError;
    for (const p of patterns) assert.match(e.message, p);
    assert.is(e.op, 'resolveCorpus');
    assert.ok(e.argument && e.expected && e.actual, 'argument, expected and actual are set');
  }
  await assertThrows(() => resolveCorpus('a.txt' as unknown as string[]), "argument 'inputs'", 'an array of file or directory paths');
  await assertThrows(() => resolveCorpus([3 as unknown as string]), "argument 'inputs'");
  const utf16 = tree({ 'u16.txt': Buffer.from('\ufeffhello', 'utf16le') });
  await assertThrows(() => resolveCorpus([path.join(utf16, 'u16.txt')]), 'UTF-16');
});

test('all files empty or binary, an empty directory: errors that say what was skipped', async () => {
  const allEmpty = tree({ 'a.txt': '', 'b.txt': '', 'c/d.txt': '' });
  await assertThrows(() => resolveCorpus([allEmpty]), "argument 'inputs[0]'", 'at least one non-empty text file', 'no usable file; 3 skipped', 'a.txt: it is empty');
  const empty = path.join(root, 'really-empty');
  fs.mkdirSync(empty);
  await assertThrows(() => resolveCorpus([empty]), 'it is empty');
  const binary = tree({ 'x.bin': new Uint8Array([1, 0, 2]), '.h': 'hidden' });
  await assertThrows(() => resolveCorpus([tree({ 'ok.txt': 'ok' }), binary]), "argument 'inputs[1]'", 'NUL byte');
  const bomOnly = tree({ 'bom.txt': '\ufeff' });
  await assertThrows(() => resolveCorpus([path.join(bomOnly, 'bom.txt')]), 'only a byte-order mark');
});

test('streamed text equals the files exactly: multi-byte characters across tiny reads, BOM dropped', async () => {
  const r = rng();
  const texts = [prose(r, 3000), prose(r, 10), 'a', prose(r, 500)];
  const dir = tree({ '0.txt': '\ufeff' + texts[0], '1.txt': texts[1], '2.txt': texts[2], '3.txt': texts[3] });
  const c = await resolveCorpus([dir]);
  for (const chunkBytes of [16, 17, 100, 4096]) {
    const stats = newReadStats();
    const { docs, chunks } = await readAll(c, { chunkBytes, stats });
    assert.equal(docs, texts, `chunkBytes ${chunkBytes}`);
    assert.is(stats.bytesRead, c.totalBytes);
    assert.is(stats.replacements, 0);
    // Chunks are in document order and never straddle documents.
    for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i].document >= chunks[i - 1].document);
    if (chunkBytes === 100) assert.ok(chunks.filter((ch) => ch.document === 0).length > 10, 'document 0 is streamed in many chunks');
  }
});

test('chunks end at safe points (letter | " letter") and stay bounded; without any, hard cuts at maxChunkChars', async () => {
  const r = rng();
  const dir = tree({ 'p.txt': prose(r, 5000), 'digits.txt': '1234567890 '.repeat(300), 'mixed.txt': 'word '.repeat(50) + '9'.repeat(3000) + ' tail end' });
  const c = await resolveCorpus([dir]);
  const stats = newReadStats();
  const chunkBytes = 64;
  const maxChunkChars = 500;
  const { docs, chunks } = await readAll(c, { chunkBytes, maxChunkChars, stats });
  assert.equal(docs, c.files.map((f) => fs.readFileSync(f.path, 'utf8')));
  const letter = /\p{L}/u;
  for (let i = 0; i + 1 < chunks.length; i++) {
    const a = chunks[i];
    const b = chunks[i + 1];
    assert.ok(a.text.length <= maxChunkChars + chunkBytes, `chunk of ${a.text.length} chars`);
    if (a.document !== b.document) continue;
    const safe = letter.test(a.text[a.text.length - 1]) && b.text[0] === ' ' && letter.test(b.text[1]);
    if (!safe) assert.is(a.text.length, maxChunkChars, `an unsafe cut must be a hard cut: ${JSON.stringify(a.text.slice(-5))}|${JSON.stringify(b.text.slice(0, 5))}`);
  }
  // digits.txt has 3300 chars and no letter at all: ceil(3300 / 500) - 1 = 6 hard cuts; mixed.txt's
  // run of 3000 nines forces hard cuts too.
  assert.ok(stats.hardCuts >= 6 + 5, `${stats.hardCuts} hard cuts`);
  const digitChunks = chunks.filter((ch) => ch.document === c.files.findIndex((f) => f.path.endsWith('digits.txt')));
  assert.is(digitChunks.length, 7);
});

test('a hard cut never splits a surrogate pair', async () => {
  const dir = tree({ 'e.txt': '🙂'.repeat(1000) });
  const c = await resolveCorpus([dir]);
  const stats = newReadStats();
  const { docs, chunks } = await readAll(c, { chunkBytes: 32, maxChunkChars: 101, stats });
  assert.is(docs[0], '🙂'.repeat(1000));
  assert.ok(stats.hardCuts > 10);
  for (const ch of chunks) {
    const first = ch.text.charCodeAt(0);
    assert.ok(!(first >= 0xdc00 && first <= 0xdfff), 'a chunk starts with a low surrogate');
  }
});

test('a few invalid bytes are replaced and counted; binary content after the sniffed prefix fails naming file and offset', async () => {
  const text = 'All is well here. '.repeat(200);
  const bytes = Buffer.concat([Buffer.from(text.slice(0, 1000)), Buffer.from([0xe9]), Buffer.from(text.slice(1000))]);
  const lateBinary = Buffer.concat([Buffer.from('plain text '.repeat(7000)), Buffer.from([0x00, 0x01, 0x02])]);
  const dir = tree({ 'a.txt': bytes, 'late.txt': lateBinary });
  const one = await resolveCorpus([path.join(dir, 'a.txt')]);
  const stats = newReadStats();
  const { docs } = await readAll(one, { stats });
  assert.is(stats.replacements, 1);
  assert.is(docs[0], text.slice(0, 1000) + '\ufffd' + text.slice(1000));
  // The first 64 KiB are text, so resolving accepts the file; reading finds the NUL.
  const late = await resolveCorpus([path.join(dir, 'late.txt')]);
  await assertThrows(() => readAll(late), 'readCorpus', 'late.txt', 'NUL byte at byte 77000');
});

test('a file that changed after resolving is an error, not a silently stale corpus', async () => {
  const dir = tree({ 'grow.txt': 'short text', 'shrink.txt': 'a longer text than later' });
  const grow = await resolveCorpus([path.join(dir, 'grow.txt')]);
  fs.appendFileSync(path.join(dir, 'grow.txt'), ' and more');
  await assertThrows(() => readAll(grow), 'grow.txt changed while it was read', '10 bytes');
  const shrink = await resolveCorpus([path.join(dir, 'shrink.txt')]);
  fs.writeFileSync(path.join(dir, 'shrink.txt'), 'short');
  await assertThrows(() => readAll(shrink), 'shrink.txt changed', 'resolve the corpus again');
  fs.rmSync(path.join(dir, 'shrink.txt'));
  await assertThrows(() => readAll(shrink), 'cannot open', 'shrink.txt');
});

test('readCorpus options are checked', async () => {
  const c = await resolveCorpus([tree({ 'a.txt': 'a' })]);
  await assertThrows(() => readAll(c, { chunkBytes: 0 }), "readCorpus: argument 'options.chunkBytes'");
  await assertThrows(() => readAll(c, { maxChunkChars: 1 }), "argument 'options.maxChunkChars'");
});

test.run();
