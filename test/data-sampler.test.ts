/**
 * lib/data/split.ts and lib/data/sampler.ts: split sizes, disjointness, coverage and spread; windows
 * (y is x shifted by one, inside one allowed range, every start reachable and about equally likely);
 * reproducibility from a seed and exact resume after a state restore; the fixed evaluation batches;
 * and the errors, in particular a split shorter than one block.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { BatchSampler } from '../lib/data/sampler';
import { splitTokens, TokenRange } from '../lib/data/split';
import { GlmError } from '../lib/errors';
import { assertThrows } from './helpers/assert';
import { rng, seedNote } from './helpers/random';

/** tokens[i] = i, so a window's values are its positions. */
const iota = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);
const freshSeed = () => rng().int(0, 2 ** 31);

/** Which range holds [start, end), or -1. */
function rangeOf(ranges: readonly TokenRange[], start: number, end: number): number {
  return ranges.findIndex((r) => r.start <= start && end <= r.end);
}

/** Checks every row of a batch over iota tokens: consecutive, y = x + 1, inside one range. Returns the starts. */
function checkBatch(b: { x: Int32Array; y: Int32Array }, B: number, T: number, ranges: readonly TokenRange[]): number[] {
  assert.is(b.x.length, B * T);
  assert.is(b.y.length, B * T);
  const starts: number[] = [];
  for (let row = 0; row < B; row++) {
    const s = b.x[row * T];
    for (let t = 0; t < T; t++) {
      if (b.x[row * T + t] !== s + t) assert.unreachable(`row ${row}: x is not consecutive at ${t}`);
      if (b.y[row * T + t] !== b.x[row * T + t] + 1) assert.unreachable(`row ${row}: y is not x shifted by one at ${t}`);
    }
    if (rangeOf(ranges, s, s + T + 1) < 0) assert.unreachable(`window [${s}, ${s + T + 1}) is not inside one range ${seedNote()}`);
    starts.push(s);
  }
  return starts;
}

test('splitTokens: sizes, disjoint sorted ranges covering everything, val spread over the whole sequence', () => {
  for (const n of [0, 1, 10, 1000, 100000, 1234567, 10_000_019]) {
    for (const f of [0, 0.01, 0.1, 0.25, 0.5]) {
      const s = splitTokens(n, { valFraction: f });
      const all = [...s.train.map((r) => ({ ...r, val: false })), ...s.val.map((r) => ({ ...r, val: true }))].sort((a, b) => a.start - b.start);
      let at = 0;
      for (const r of all) {
        assert.is(r.start, at, `n=${n} f=${f}: ranges are contiguous and disjoint`);
        assert.ok(r.end > r.start, 'no empty range');
        at = r.end;
      }
      assert.is(at, n, 'they cover [0, n)');
      const valTokens = s.val.reduce((a, r) => a + r.end - r.start, 0);
      assert.is(valTokens, Math.round(n * f), `n=${n} f=${f}: val size`);
      assert.is(s.valTokens, valTokens);
      assert.is(s.trainTokens, n - valTokens);
      if (valTokens >= 16 * 8192) {
        // Sixteen pieces, one in each sixteenth of the sequence.
        assert.is(s.val.length, 16);
        s.val.forEach((r, j) => assert.ok(r.start >= Math.floor((j * n) / 16) && r.end <= Math.floor(((j + 1) * n) / 16), `piece ${j} in its region`));
      } else if (valTokens > 0) {
        assert.is(s.val.length, Math.max(1, Math.floor(valTokens / 8192)));
      }
    }
  }
  assert.equal(splitTokens(1000, { valFraction: 0.1 }).val, [{ start: 900, end: 1000 }], 'a small sequence: the tail');
  assert.equal(splitTokens(123456, { valFraction: 0.3, pieces: 4 }), splitTokens(123456, { valFraction: 0.3, pieces: 4 }), 'deterministic');
  const custom = splitTokens(1000, { valFraction: 0.2, pieces: 4, minPieceTokens: 10 });
  assert.equal(custom.val, [
    { start: 200, end: 250 },
    { start: 450, end: 500 },
    { start: 700, end: 750 },
    { start: 950, end: 1000 },
  ]);
  assert.equal(custom.train[0], { start: 0, end: 200 });
});

test('splitTokens: bad options', async () => {
  await assertThrows(() => splitTokens(-1), "splitTokens: argument 'length'");
  await assertThrows(() => splitTokens(10.5), "argument 'length'");
  await assertThrows(() => splitTokens(100, { valFraction: 1 }), "argument 'options.valFraction'", '[0, 1)', 'got 1');
  await assertThrows(() => splitTokens(100, { valFraction: -0.1 }), "argument 'options.valFraction'");
  await assertThrows(() => splitTokens(100, { valFraction: NaN }), "argument 'options.valFraction'", 'NaN');
  await assertThrows(() => splitTokens(100, { pieces: 0 }), "argument 'options.pieces'");
  await assertThrows(() => splitTokens(100, { minPieceTokens: 0 }), "argument 'options.minPieceTokens'");
});

test('next(): rows are windows of T+1 tokens, y = x shifted by one, never crossing into validation', () => {
  const n = 300000;
  const tokens = iota(n);
  const split = splitTokens(n, { valFraction: 0.1, minPieceTokens: 2000 });
  assert.ok(split.val.length >= 10);
  for (const [B, T] of [
    [1, 1],
    [7, 63],
    [16, 256],
  ]) {
    const s = new BatchSampler({ tokens, ranges: split.train, batchSize: B, blockSize: T, seed: freshSeed() });
    for (let i = 0; i < 20; i++) checkBatch(s.next(), B, T, split.train);
    assert.is(s.batchesDrawn, 20);
  }
  // Uint16 tokens too.
  const small = Uint16Array.from({ length: 5000 }, (_, i) => i);
  const s16 = new BatchSampler({ tokens: small, batchSize: 4, blockSize: 32, seed: 1 });
  checkBatch(s16.next(), 4, 32, [{ start: 0, end: 5000 }]);
});

test('window starts are uniform over all starts of all ranges (chi-square over ranges)', () => {
  // Ranges of different lengths: each should be hit in proportion to its number of starts (len - T).
  const tokens = iota(20000);
  const ranges = [
    { start: 0, end: 1000 },
    { start: 1000, end: 1010 }, // 10 - 10 = 0 starts: never used
    { start: 2000, end: 2100 },
    { start: 5000, end: 9000 },
    { start: 12000, end: 20000 },
  ];
  const T = 10;
  const s = new BatchSampler({ tokens, ranges, batchSize: 100, blockSize: T, seed: freshSeed() });
  const weights = ranges.map((r) => Math.max(0, r.end - r.start - T));
  assert.is(s.windowCount, weights.reduce((a, b) => a + b, 0));
  const counts = ranges.map(() => 0);
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) for (const start of checkBatch(s.next(), 100, T, ranges)) {
    counts[rangeOf(ranges, start, start + T + 1)]++;
    seen.add(start);
  }
  assert.is(counts[1], 0);
  const total = 40000;
  let chi = 0;
  weights.forEach((w, i) => {
    if (w === 0) return;
    const e = (total * w) / s.windowCount;
    chi += (counts[i] - e) ** 2 / e;
  });
  // 3 degrees of freedom: P(chi² > 32) ≈ 5e-7.
  assert.ok(chi < 32, `chi-square ${chi.toFixed(1)}: counts ${counts} for weights ${weights} ${seedNote()}`);
  // The first and last start of the ranges are reachable (no off-by-one at the ends).
  const all = new BatchSampler({ tokens: iota(13), batchSize: 200, blockSize: 10, seed: 5 });
  const starts = new Set(checkBatch(all.next(), 200, 10, [{ start: 0, end: 13 }]));
  assert.equal([...starts].sort(), [0, 1, 2], 'starts 0..2 of a 13-token sequence with T = 10');
  assert.ok(seen.size > 1000);
});

test('reproducible from the seed; getState/setState (through JSON) resume the exact batches', () => {
  const tokens = iota(50000);
  const ranges = splitTokens(50000, { valFraction: 0.2, minPieceTokens: 1000 }).train;
  const seed = freshSeed();
  const opts = { tokens, ranges, batchSize: 8, blockSize: 64, seed };
  const a = new BatchSampler(opts);
  const b = new BatchSampler(opts);
  const other = new BatchSampler({ ...opts, seed: seed + 1 });
  const first = a.next();
  assert.equal(b.next(), first);
  assert.not.equal(other.next().x, first.x);
  for (let i = 0; i < 5; i++) a.next();
  const state = JSON.parse(JSON.stringify(a.getState()));
  assert.is(state.batches, 6);
  const expected = Array.from({ length: 10 }, () => a.next());
  const resumed = new BatchSampler({ ...opts, seed: 999 });
  resumed.setState(state);
  assert.is(resumed.batchesDrawn, 6);
  for (let i = 0; i < 10; i++) assert.equal(resumed.next(), expected[i], `batch ${i} after resume`);
  assert.equal(resumed.getState(), a.getState());
});

test('evalBatches(n): fixed, evenly spaced windows, independent of the random stream', () => {
  const n = 100000;
  const tokens = iota(n);
  const split = splitTokens(n, { valFraction: 0.1, minPieceTokens: 1000 });
  const T = 32;
  const B = 4;
  const val = new BatchSampler({ tokens, ranges: split.val, batchSize: B, blockSize: T, seed: 1 });
  const e1 = val.evalBatches(5);
  val.next();
  val.next();
  const e2 = val.evalBatches(5);
  const e3 = new BatchSampler({ tokens, ranges: split.val, batchSize: B, blockSize: T, seed: 77 }).evalBatches(5);
  assert.is(e1.length, 5);
  assert.equal(e2, e1);
  assert.equal(e3, e1);
  const starts = e1.flatMap((b) => checkBatch(b, B, T, split.val));
  // 20 windows spread over all val pieces: strictly increasing, from the first piece to the last.
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i] > starts[i - 1]);
  assert.ok(starts[0] < split.val[1].start, 'starts in the first piece');
  assert.ok(starts[starts.length - 1] >= split.val[split.val.length - 1].start, 'ends in the last piece');
  const pieces = new Set(starts.map((s) => rangeOf(split.val, s, s + T + 1)));
  assert.ok(pieces.size >= Math.min(split.val.length, 20) - 1, `${pieces.size} of ${split.val.length} pieces used`);
  assert.equal(val.evalBatches(0), []);
  // More rows than windows: windows repeat, still valid.
  const tiny = new BatchSampler({ tokens: iota(40), batchSize: 8, blockSize: 36, seed: 0 });
  const rows = tiny.evalBatches(2).flatMap((b) => checkBatch(b, 8, 36, [{ start: 0, end: 40 }]));
  assert.equal(new Set(rows), new Set([0, 1, 2, 3]));
});

test('a split shorter than one block: the error says how many tokens it has and needs', async () => {
  const tokens = iota(1000);
  let error: unknown;
  try {
    new BatchSampler({ tokens, ranges: [{ start: 0, end: 100 }], batchSize: 2, blockSize: 100, seed: 0, name: 'val' });
  } catch (e) {
    error = e;
  }
  assert.instance(error, GlmError);
  const e = error as GlmError;
  assert.match(e.message, /^BatchSampler: the val data is shorter than one block: it has 100 tokens, a window needs blockSize \+ 1 = 101/);
  assert.is(e.argument, 'blockSize');
  // Several short ranges: the total is enough, but windows do not cross ranges.
  await assertThrows(
    () => new BatchSampler({ tokens, ranges: [{ start: 0, end: 60 }, { start: 100, end: 160 }], batchSize: 1, blockSize: 64, name: 'train' }),
    'the train data is shorter than one block',
    'it has 120 tokens',
    'longest contiguous range has 60',
    'needs blockSize + 1 = 65',
  );
  await assertThrows(() => new BatchSampler({ tokens: iota(0), batchSize: 1, blockSize: 1 }), 'it has 0 tokens', 'needs blockSize + 1 = 2');
  // Exactly T + 1 tokens is enough: one window.
  const one = new BatchSampler({ tokens: iota(9), batchSize: 3, blockSize: 8 });
  assert.is(one.windowCount, 1);
  assert.equal(Array.from(one.next().x), [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
});

test('bad arguments name what was expected', async () => {
  const tokens = iota(100);
  await assertThrows(() => new BatchSampler({ tokens: [1, 2, 3] as unknown as Uint32Array, batchSize: 1, blockSize: 1 }), "BatchSampler: argument 'tokens'", 'Uint16Array');
  await assertThrows(() => new BatchSampler({ tokens, batchSize: 0, blockSize: 1 }), "argument 'batchSize'", 'positive integer');
  await assertThrows(() => new BatchSampler({ tokens, batchSize: 1, blockSize: 1.5 }), "argument 'blockSize'");
  await assertThrows(() => new BatchSampler({ tokens, batchSize: 1, blockSize: 1, seed: -3 }), "argument 'seed'");
  await assertThrows(() => new BatchSampler({ tokens, ranges: [{ start: 0, end: 101 }], batchSize: 1, blockSize: 1 }), "argument 'ranges[0]'", '<= 100');
  await assertThrows(() => new BatchSampler({ tokens, ranges: [{ start: 0, end: 10 }, { start: 20, end: 5 }], batchSize: 1, blockSize: 1 }), "argument 'ranges[1]'");
  const s = new BatchSampler({ tokens, batchSize: 1, blockSize: 1 });
  await assertThrows(() => s.evalBatches(-1), "BatchSampler.evalBatches: argument 'n'");
  await assertThrows(() => s.setState({ rng: [0, 0, 0, 0], batches: 1 }), 'Random.setState');
  await assertThrows(() => s.setState({ rng: [1, 2, 3, 4], batches: -1 }), "BatchSampler.setState: argument 'state'");
});

test.run();
