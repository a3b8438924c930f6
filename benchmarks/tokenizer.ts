/**
 * Tokenizer benchmark: GPT-2 (r50k) encoding of the whole default corpus (the State of the Union
 * addresses, ~10 MB) by our BPE and by js-tiktoken, in the same process, alternating rounds, median
 * of each; checks that both give identical ids on the whole corpus; times decoding, and training a
 * 4096-id byte-level BPE on the corpus. Our per-piece cache is emptied before each round, so every
 * round starts cold, as js-tiktoken (which has no cache) always does. Prints a table and one JSON line.
 *
 *   npx tsx benchmarks/tokenizer.ts [--rounds N] [--quick]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Tiktoken } from 'js-tiktoken/lite';

import { printTable } from '../lib/bench/timing';
import { bpeFromTiktokenRanks, r50kRanks, trainBpe } from '../lib/tokenizer/index';

const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg >= 0 ? Number(process.argv[roundsArg + 1]) : quick ? 3 : 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const out = fn();
  return [out, performance.now() - t0];
}

function main(): void {
  const dir = path.join(__dirname, '..', 'node_modules', '@stdlib', 'datasets-sotu', 'data');
  const texts = fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  const chars = texts.reduce((n, t) => n + t.length, 0);
  const mb = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0) / 1e6;

  const ranks = r50kRanks(); // loaded once, outside the timings: both build from the same table
  const [ours, oursBuildMs] = timed(() => bpeFromTiktokenRanks(ranks, 'gpt2'));
  const [theirs, theirsBuildMs] = timed(() => new Tiktoken(ranks));

  const oursMs: number[] = [];
  const theirsMs: number[] = [];
  let oursIds: Uint32Array[] = [];
  let theirsIds: number[][] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first so drift in machine load falls on both.
    const runOurs = () => {
      ours.clearCache();
      const [ids, ms] = timed(() => texts.map((t) => ours.encode(t)));
      oursMs.push(ms);
      oursIds = ids;
    };
    const runTheirs = () => {
      const [ids, ms] = timed(() => texts.map((t) => theirs.encode(t, [], [])));
      theirsMs.push(ms);
      theirsIds = ids;
    };
    if (r % 2 === 0) {
      runOurs();
      runTheirs();
    } else {
      runTheirs();
      runOurs();
    }
  }
  let tokens = 0;
  let mismatch = -1;
  for (let i = 0; i < texts.length; i++) {
    const a = oursIds[i];
    const b = theirsIds[i];
    tokens += b.length;
    if (mismatch < 0 && (a.length !== b.length || a.some((x, j) => x !== b[j]))) mismatch = i;
  }
  const identical = mismatch < 0;

  const [, oursDecodeMs] = timed(() => oursIds.forEach((ids) => ours.decode(ids)));
  const [, theirsDecodeMs] = timed(() => theirsIds.forEach((ids) => theirs.decode(ids)));
  const decodedOk = oursIds.every((ids, i) => ours.decode(ids) === texts[i]);

  const trainMs: number[] = [];
  let vocab = 0;
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    const [bpe, ms] = timed(() => trainBpe(texts, { vocabSize: 4096 }));
    trainMs.push(ms);
    vocab = bpe.vocabSize;
  }

  const oursMed = median(oursMs);
  const theirsMed = median(theirsMs);
  const ratio = theirsMed / oursMed;
  console.log(`corpus: ${texts.length} files, ${chars} characters, ${mb.toFixed(2)} MB UTF-8, ${tokens} r50k tokens; ${rounds} rounds; ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg()[0].toFixed(1)}`);
  printTable(
    ['task', 'ours ms', 'js-tiktoken ms', 'ours MB/s', 'js-tiktoken MB/s', 'ours/js-tiktoken speed'],
    [
      ['encode r50k (median)', oursMed, theirsMed, mb / (oursMed / 1000), mb / (theirsMed / 1000), ratio],
      ['decode r50k (once)', oursDecodeMs, theirsDecodeMs, mb / (oursDecodeMs / 1000), mb / (theirsDecodeMs / 1000), theirsDecodeMs / oursDecodeMs],
      ['build from ranks', oursBuildMs, theirsBuildMs, '', '', theirsBuildMs / oursBuildMs],
      [`train BPE ${vocab} (median)`, median(trainMs), '-', mb / (median(trainMs) / 1000), '', ''],
    ],
  );
  console.log(`ids identical on the whole corpus: ${identical ? 'yes' : `NO (first difference in file ${mismatch})`}; decode round trip: ${decodedOk ? 'yes' : 'NO'}`);
  console.log(
    JSON.stringify({
      benchmark: 'tokenizer',
      date: new Date().toISOString(),
      cpu: os.cpus()[0]?.model,
      load: os.loadavg()[0],
      corpusMB: mb,
      tokens,
      rounds,
      encodeMs: { ours: oursMs, jsTiktoken: theirsMs },
      encodeMedianMs: { ours: oursMed, jsTiktoken: theirsMed },
      encodeRatio: ratio,
      decodeMs: { ours: oursDecodeMs, jsTiktoken: theirsDecodeMs },
      idsIdentical: identical,
      decodeRoundTrip: decodedOk,
      trainBpe4096Ms: trainMs,
      trainBpe4096MedianMs: median(trainMs),
    }),
  );
  if (!identical || !decodedOk) process.exitCode = 1;
}

main();
