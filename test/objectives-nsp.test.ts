/**
 * lib/data/objectives/nsp.ts: the [CLS] A [SEP] B [SEP] PAD... layout and segment ids; true pairs are
 * consecutive text of one document and random pairs come from two documents (checked by reconstruction:
 * every token id of the test corpus is unique, so it names its document and place); the isNext share;
 * truncation longest first, A from its front and B from its back; batches; bad input.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { buildNspBatch, buildNspExample, NspDocuments, NspOptions } from '../lib/data/objectives/nsp';
import { Random } from '../lib/random';
import { assertThrows } from './helpers/assert';
import { Rng, rng, seedNote } from './helpers/random';

const freshSeed = (): number => rng().int(0, 2 ** 31);
const PAD = 0;
const CLS = 1;
const SEP = 2;
const FIRST_TOKEN = 10;

/** Where a token of the corpus sits. */
interface Place {
  doc: number;
  seg: number;
  /** Index within its segment. */
  off: number;
  /** Index within its document's concatenated text. */
  at: number;
}

/** A corpus of unique token ids: docs of 1..maxSegs segments of 1..maxSeg tokens, and each id's place. */
function corpus(r: Rng, docCount: number, maxSegs: number, maxSeg: number): { docs: Int32Array[][]; places: Map<number, Place> } {
  let next = FIRST_TOKEN;
  const places = new Map<number, Place>();
  const docs = Array.from({ length: docCount }, (_, doc) => {
    let at = 0;
    return Array.from({ length: r.int(1, maxSegs + 1) }, (_, seg) =>
      Int32Array.from({ length: r.int(1, maxSeg + 1) }, (_, off) => {
        places.set(next, { doc, seg, off, at: at++ });
        return next++;
      }),
    );
  });
  return { docs, places };
}

/** Checks the layout of one example; returns A and B. */
function splitExample(ids: Int32Array, segments: Int32Array, length: number, maxLength: number): { a: number[]; b: number[] } {
  assert.is(ids.length, maxLength);
  assert.ok(length >= 5 && length <= maxLength, `length ${length}`);
  assert.is(ids[0], CLS);
  const sep = ids.indexOf(SEP);
  assert.is(ids[length - 1], SEP);
  const a = Array.from(ids.subarray(1, sep));
  const b = Array.from(ids.subarray(sep + 1, length - 1));
  assert.ok(a.length >= 1 && b.length >= 1, `|A| = ${a.length}, |B| = ${b.length} ${seedNote()}`);
  for (let i = 0; i < maxLength; i++) {
    const want = i > sep && i < length ? 1 : 0;
    if (segments[i] !== want) assert.unreachable(`segment id ${segments[i]} at ${i}, expected ${want} ${seedNote()}`);
    if (i >= length && ids[i] !== PAD) assert.unreachable(`padding ${ids[i]} at ${i} ${seedNote()}`);
  }
  return { a, b };
}

/** The places of a run, checked to be consecutive text of one document. */
function contiguous(run: number[], places: Map<number, Place>, what: string): Place[] {
  const ps = run.map((id) => places.get(id)!);
  for (let i = 1; i < ps.length; i++)
    if (ps[i].doc !== ps[0].doc || ps[i].at !== ps[i - 1].at + 1) assert.unreachable(`${what} is not consecutive text of one document ${seedNote()}`);
  return ps;
}

test('pairs by reconstruction: true pairs continue A in its document, random pairs come from another', () => {
  const r = rng();
  const random = new Random(freshSeed());
  let isNextCount = 0;
  let draws = 0;
  const docsOfB = new Map<number, number>();
  for (let round = 0; round < 40; round++) {
    let { docs, places } = corpus(r, r.int(2, 9), 6, 15);
    // A corpus of only single-token one-segment documents has no true pair (and is refused): redraw.
    while (!docs.some((d) => d.length >= 2 || d[0].length >= 2)) ({ docs, places } = corpus(r, r.int(2, 9), 6, 15));
    const opts: NspOptions = { maxLength: r.int(5, 48), clsId: CLS, sepId: SEP, padId: PAD };
    const target = opts.maxLength - 3;
    const segEnd = (p: Place) => p.off === docs[p.doc][p.seg].length - 1;
    for (let n = 0; n < 500; n++) {
      const ex = buildNspExample(docs, random, opts);
      const { a, b } = splitExample(ex.ids, ex.segments, ex.length, opts.maxLength);
      assert.is(ex.length, 3 + a.length + b.length);
      const pa = contiguous(a, places, 'A');
      const pb = contiguous(b, places, 'B');
      const aFirst = pa[0];
      const aLast = pa[pa.length - 1];
      const bFirst = pb[0];
      const bLast = pb[pb.length - 1];
      draws++;
      if (ex.isNext === 1) {
        isNextCount++;
        if (bFirst.doc !== aFirst.doc || bFirst.at !== aLast.at + 1) assert.unreachable(`a true pair whose B does not follow A ${seedNote()}`);
        // The junction is a segment boundary, except in a one-segment document (split inside it).
        if (docs[aFirst.doc].length > 1 && (!segEnd(aLast) || bFirst.off !== 0)) assert.unreachable(`true pair not cut at a segment boundary ${seedNote()}`);
      } else {
        assert.is(ex.isNext, 0);
        if (bFirst.doc === aFirst.doc) assert.unreachable(`a random pair with B from A's document ${seedNote()}`);
        if (!segEnd(aLast) || bFirst.off !== 0) assert.unreachable(`random pair: A does not end or B does not start at a segment boundary ${seedNote()}`);
        if (round === 0) docsOfB.set(bFirst.doc, (docsOfB.get(bFirst.doc) ?? 0) + 1);
      }
      // Truncation: A loses tokens only from its front, B only from its back, longest first.
      const aCut = docs[aFirst.doc].length > 1 ? aFirst.off !== 0 : aFirst.at !== 0;
      const bCut = !segEnd(bLast);
      if (aCut || bCut) assert.is(a.length + b.length, target, `truncated pair fills maxLength ${seedNote()}`);
      if (aCut && a.length < b.length) assert.unreachable(`A was cut to ${a.length} below B's ${b.length} ${seedNote()}`);
      if (bCut && b.length < a.length - 1) assert.unreachable(`B was cut to ${b.length} below A's ${a.length} - 1 ${seedNote()}`);
    }
  }
  // Standard error sqrt(0.25 / n) ≈ 0.0022 at n = 20k.
  const share = isNextCount / draws;
  const z = (share - 0.5) / Math.sqrt(0.25 / draws);
  if (!(Math.abs(z) <= 5)) assert.unreachable(`isNext share ${share} is ${z.toFixed(2)} standard errors from 0.5 ${seedNote()}`);
  assert.ok(docsOfB.size >= 2, 'random B documents vary');
});

test('truncation, exactly: longest first (B on ties), A from the front, B from the back', () => {
  const seg = (from: number, n: number) => Int32Array.from({ length: n }, (_, i) => from + i);
  const random = new Random(freshSeed());
  // Document 1 is one single-token segment, so every true pair comes from document 0 and is seg0 | seg1.
  const cases = [
    { lens: [20, 20], maxLength: 13, a: [15, 20], b: [0, 5] }, // 20/20 -> 5/5
    { lens: [20, 20], maxLength: 14, a: [14, 20], b: [0, 5] }, // 20/20 -> 6/5: the tie trims B first
    { lens: [30, 8], maxLength: 23, a: [18, 30], b: [0, 8] }, // 30/8 -> 12/8: only the longer shrinks
    { lens: [3, 30], maxLength: 9, a: [0, 3], b: [0, 3] }, // 3/30 -> 3/3
    { lens: [4, 2], maxLength: 64, a: [0, 4], b: [0, 2] }, // fits: nothing cut, padded
  ];
  for (const c of cases) {
    const s0 = seg(100, c.lens[0]);
    const s1 = seg(1000, c.lens[1]);
    const docs: NspDocuments = [[s0, s1], [Int32Array.of(7)]];
    const opts = { maxLength: c.maxLength, clsId: CLS, sepId: SEP, padId: PAD };
    let seen = 0;
    for (let n = 0; n < 50; n++) {
      const ex = buildNspExample(docs, random, opts);
      if (!ex.isNext) continue;
      seen++;
      const want = [CLS, ...s0.subarray(c.a[0], c.a[1]), SEP, ...s1.subarray(c.b[0], c.b[1]), SEP];
      assert.equal(Array.from(ex.ids.subarray(0, ex.length)), want);
      assert.is(ex.length, want.length);
      assert.ok(ex.ids.subarray(ex.length).every((t) => t === PAD));
    }
    assert.ok(seen > 0, 'some true pairs');
  }
});

test('one-segment documents give true pairs by a split inside the segment', () => {
  const random = new Random(freshSeed());
  const docs: NspDocuments = [[Int32Array.of(10, 11, 12, 13, 14, 15)], [Int32Array.of(20, 21, 22)]];
  const cuts = new Set<string>();
  for (let n = 0; n < 400; n++) {
    const ex = buildNspExample(docs, random, { maxLength: 40, clsId: CLS, sepId: SEP, padId: PAD });
    if (!ex.isNext) continue;
    const { a, b } = splitExample(ex.ids, ex.segments, ex.length, 40);
    const whole = [...a, ...b];
    assert.ok(
      JSON.stringify(whole) === JSON.stringify([10, 11, 12, 13, 14, 15]) || JSON.stringify(whole) === JSON.stringify([20, 21, 22]),
      `a true pair is one whole document: ${whole}`,
    );
    cuts.add(`${a.length}/${b.length}`);
  }
  // Cuts 1..5 of the first document and 1..2 of the second: 7 kinds, all of them seen in ~200 pairs.
  assert.is(cuts.size, 7);
});

test('buildNspBatch: rows are the examples one after another; flat arrays', () => {
  const r = rng();
  const { docs } = corpus(r, 5, 4, 9);
  const opts = { maxLength: 17, clsId: CLS, sepId: SEP, padId: PAD };
  const seed = freshSeed();
  const B = 13;
  const batch = buildNspBatch(docs, B, new Random(seed), opts);
  assert.is(batch.batchSize, B);
  assert.is(batch.maxLength, 17);
  assert.is(batch.ids.length, B * 17);
  assert.is(batch.segments.length, B * 17);
  assert.is(batch.lengths.length, B);
  assert.is(batch.isNext.length, B);
  const random = new Random(seed);
  for (let b = 0; b < B; b++) {
    const ex = buildNspExample(docs, random, opts);
    assert.equal(Array.from(batch.ids.subarray(b * 17, (b + 1) * 17)), Array.from(ex.ids));
    assert.equal(Array.from(batch.segments.subarray(b * 17, (b + 1) * 17)), Array.from(ex.segments));
    assert.is(batch.lengths[b], ex.length);
    assert.is(batch.isNext[b], ex.isNext);
  }
});

test('bad input throws errors naming the argument', async () => {
  const random = new Random(3);
  const opts = { maxLength: 16, clsId: CLS, sepId: SEP, padId: PAD };
  const good: NspDocuments = [[Int32Array.of(10, 11)], [Int32Array.of(12)]];
  await assertThrows(() => buildNspExample([[Int32Array.of(10, 11)]], random, opts), "argument 'docs'", 'at least 2 documents', 'an array of length 1');
  await assertThrows(() => buildNspExample('text' as unknown as NspDocuments, random, opts), "argument 'docs'", 'got "text"');
  await assertThrows(() => buildNspExample([good[0], []], random, opts), "argument 'docs[1]'", 'non-empty array', 'an array of length 0');
  await assertThrows(() => buildNspExample([good[0], [Int32Array.of(5), new Int32Array(0)]], random, opts), "argument 'docs[1][1]'", 'non-empty Int32Array', 'Int32Array of length 0');
  await assertThrows(() => buildNspExample([good[0], [[5, 6] as unknown as Int32Array]], random, opts), "argument 'docs[1][0]'", 'an array of length 2');
  await assertThrows(() => buildNspExample([[Int32Array.of(10)], [Int32Array.of(11)]], random, opts), "argument 'docs'", 'for true next pairs', '2 documents that are each one single-token segment');
  await assertThrows(() => buildNspExample(good, random, { ...opts, maxLength: 4 }), "argument 'opts.maxLength'", '>= 5', 'got 4');
  await assertThrows(() => buildNspExample(good, random, { ...opts, sepId: -1 }), "argument 'opts.sepId'", 'got -1');
  await assertThrows(() => buildNspExample(good, random, { ...opts, padId: 0.5 }), "argument 'opts.padId'", 'got 0.5');
  await assertThrows(() => buildNspExample(good, {} as Random, opts), "argument 'random'", 'a Random');
  await assertThrows(() => buildNspBatch(good, 0, random, opts), "argument 'batchSize'", 'positive integer', 'got 0');
  await assertThrows(() => buildNspBatch(good, 2, random, { ...opts, clsId: NaN }), "argument 'opts.clsId'", 'got NaN');
});

test.run();
