/**
 * Streaming: building the shard of a synthetic 50 MB corpus keeps live memory bounded and flat (the
 * same few megabytes after 5 MB as after 50 MB), and `encode` only ever sees bounded chunks. Live
 * memory is measured after a forced garbage collection during the build.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { defaultCorpus, resolveCorpus } from '../lib/data/corpus';
import { DEFAULT_CHUNK_BYTES } from '../lib/data/reader';
import { buildShard, readShardHeader, TokenizerLike } from '../lib/data/shard';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-data-stream-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

// The documented way to get V8's gc() at run time without a command-line flag.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = 1 << 20;

/** A corpus of `files` files of `mbEach` MB each, made by repeating real text. */
async function syntheticCorpus(name: string, files: number, mbEach: number) {
  const sotu = await defaultCorpus();
  // 1 MB of ASCII (one id per byte, and repeating it never splits a character).
  const text = sotu.files.slice(0, 80).map((f) => fs.readFileSync(f.path, 'utf8')).join('\n').replace(/[^\n\x20-\x7e]/g, '');
  const sample = Buffer.from(text.slice(0, MB), 'latin1');
  assert.is(sample.length, MB);
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  for (let i = 0; i < files; i++) {
    const fd = fs.openSync(path.join(dir, `part${i}.txt`), 'w');
    for (let m = 0; m < mbEach; m++) fs.writeSync(fd, sample);
    fs.closeSync(fd);
  }
  return resolveCorpus([dir]);
}

/** Code units as ids; records the longest text it was given. */
function recordingTokenizer() {
  const seen = { longest: 0, calls: 0 };
  const tok: TokenizerLike = {
    vocabSize: 65536,
    encode(text) {
      seen.calls++;
      seen.longest = Math.max(seen.longest, text.length);
      const ids = new Uint16Array(text.length);
      for (let i = 0; i < text.length; i++) ids[i] = text.charCodeAt(i);
      return ids;
    },
  };
  return { tok, seen };
}

/**
 * Builds the shard, sampling live JS memory (heap + array buffers, after a full GC) at every other
 * progress callback; returns the samples as growth over the level before the build, in bytes.
 */
async function memoryDuringBuild(corpus: Awaited<ReturnType<typeof resolveCorpus>>, file: string, tok: TokenizerLike): Promise<number[]> {
  const live = () => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  // Array-buffer memory is released after the GC that frees its owner, on a later turn: settle first,
  // so the buffers of making the corpus are not counted in the baseline.
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  const base = live();
  const samples: number[] = [];
  let calls = 0;
  await buildShard(file, corpus, tok, {
    onProgress: () => {
      if (calls++ % 2 === 0) samples.push(live() - base);
    },
  });
  return samples;
}

test('a 50 MB corpus streams into its shard in bounded memory and bounded encode calls', async () => {
  const corpus = await syntheticCorpus('big', 10, 5);
  assert.is(corpus.totalBytes, 50 * MB);
  const { tok, seen } = recordingTokenizer();
  const samples = await memoryDuringBuild(corpus, path.join(root, 'big.bin'), tok);
  const header = await readShardHeader(path.join(root, 'big.bin'));
  // ASCII text: one id per byte, plus "\n\n" between the ten documents.
  assert.is(header.tokenCount, 50 * MB + 9 * 2);
  if (process.env.GLM_DEBUG_MEM) console.log(samples.map((x) => (x / MB).toFixed(1)).join(" "));
  const peak = Math.max(...samples);
  // Which megabyte buffers happen to be alive at a sample varies (±2 MB); the median level of the
  // first and of the last third of the build are what must agree.
  const third = Math.floor(samples.length / 3);
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
  const early = median(samples.slice(0, third));
  const late = median(samples.slice(-third));
  const report =
    `live memory over the build: median +${(early / MB).toFixed(1)} MB in the first third, ` +
    `+${(late / MB).toFixed(1)} MB in the last, peak +${(peak / MB).toFixed(1)} MB`;
  // Holding the corpus would take >= 50 MB (the text) or 100 MB (u16 ids); streaming holds a few
  // megabyte-sized buffers (read buffer, decoded and pending text, encoded ids, the 2 MiB id block).
  assert.ok(peak < 24 * MB, report);
  // Flat, not growing with the amount read (keeping even 5% of the text would add 2.5 MB).
  assert.ok(late < early + MB, `memory grows with the corpus: ${report}`);
  // Every encode call gets at most one read plus the few characters after the previous cut.
  assert.ok(seen.longest <= DEFAULT_CHUNK_BYTES + 1024, `longest encode input ${seen.longest}`);
  assert.ok(seen.calls >= 50, `${seen.calls} encode calls`);
  console.log(`  ${report}; ${seen.calls} encode calls, longest ${seen.longest} chars`);
});

test.run();
