/**
 * NSP documents cut from a token stream (lib/data/segments.ts): documents end at the separator,
 * segments after sentence-ending ids and at most maxSegment long, nothing lost or reordered.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { isSentenceEnd, segmentDocuments } from '../lib/data/segments';
import { assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

const SEP = 1, DOT = 2;

test('documents at the separator, segments after sentence ends and at most maxSegment; every other id kept in order', () => {
  const r = rng();
  for (let round = 0; round < 50; round++) {
    const n = 1 + r.int(0, 300);
    const tokens = Int32Array.from({ length: n }, () => { const u = r.uniform(0, 1); return u < 0.03 ? SEP : u < 0.15 ? DOT : 3 + r.int(0, 20); });
    const maxSegment = 1 + r.int(0, 12);
    const cut = r.int(0, n + 1);
    const ranges = [{ start: 0, end: cut }, { start: cut, end: n }];
    const docs = segmentDocuments(tokens, ranges, { separator: [SEP], endsSentence: (id) => id === DOT, maxSegment });
    // Reference: the same stream cut by hand.
    const want: number[][][] = [];
    for (const { start, end } of ranges) {
      let doc: number[][] = [], seg: number[] = [];
      const flushSeg = () => { if (seg.length) doc.push(seg); seg = []; };
      const flushDoc = () => { flushSeg(); if (doc.length) want.push(doc); doc = []; };
      for (let i = start; i < end; i++) {
        const id = tokens[i];
        if (id === SEP) { flushDoc(); continue; }
        seg.push(id);
        if (id === DOT || seg.length === maxSegment) flushSeg();
      }
      flushDoc();
    }
    assert.equal(docs.map((d) => d.map((s) => Array.from(s))), want, `round ${round}`);
  }
});

test('sentence ends by text; bad options', async () => {
  for (const t of ['.', ' end.', 'way!"', '?)', 'line\n', '.\n\n']) assert.ok(isSentenceEnd(t), JSON.stringify(t));
  for (const t of ['a', ' Mr', '3.5x', ',']) assert.not.ok(isSentenceEnd(t), JSON.stringify(t));
  await assertThrows(() => segmentDocuments(Int32Array.of(1), [{ start: 0, end: 1 }], { separator: [1], endsSentence: () => false, maxSegment: 0 }), "argument 'opts.maxSegment'");
  await assertThrows(() => segmentDocuments(Int32Array.of(1), [{ start: 0, end: 1 }], { separator: [], endsSentence: () => false, maxSegment: 4 }), "argument 'opts.separator'");
});

test.run();
