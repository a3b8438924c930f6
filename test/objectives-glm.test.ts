/**
 * lib/data/objectives/glm.ts: blank infilling. Every row is decoded back (filling Part A's [MASK]s with
 * the spans of Part B, found through pos1, must give the original sequence exactly), with its targets,
 * pos1 and pos2; coverage is exactly max(1, round(rate·N)); span lengths follow the zero-truncated
 * Poisson; placements and Part B orders are uniform; P and L are shared by a batch; the attention rule
 * matches the brute-force reference of test/reference/glmMask.ts; infillStep reproduces the training
 * layout; bad input.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { buildGlmBatch, glmAttendable, GlmBatch, GlmOptions, infillPrompt, infillStep, sampleSpanLengths } from '../lib/data/objectives/glm';
import { Random } from '../lib/random';
import { assertThrows } from './helpers/assert';
import { Rng, rng, seedNote } from './helpers/random';
import { glmAllowedRef, glmLayoutFromPos2 } from './reference/glmMask';

const freshSeed = (): number => rng().int(0, 2 ** 31);
const MASK = 1;
const START = 2;
const END = 3;
const opts: GlmOptions = { maskId: MASK, startId: START, endId: END };

/** n ids in [4, 1000): never a special. */
const sequence = (r: Rng, n: number) => r.ints(n, 4, 1000);

/** Asserts |value - expected| <= 5 standard errors (a false failure about once in 1.7 million). */
function within5Sigma(value: number, expected: number, stdError: number, what: string): void {
  const z = (value - expected) / stdError;
  if (!(Math.abs(z) <= 5)) assert.unreachable(`${what}: ${value} vs expected ${expected} is ${z.toFixed(2)} standard errors off ${seedNote()}`);
}

/** Chi-square of counts against equal expected counts within its bound at p ≈ 1e-6 (Wilson–Hilferty, z = 4.75). */
function assertUniform(counts: readonly number[], what: string): void {
  const total = counts.reduce((s, c) => s + c, 0);
  const e = total / counts.length;
  const chi = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
  const k = counts.length - 1;
  const bound = k * (1 - 2 / (9 * k) + 4.75 * Math.sqrt(2 / (9 * k))) ** 3;
  if (!(chi <= bound)) assert.unreachable(`${what} not uniform: chi-square ${chi.toFixed(1)} > ${bound.toFixed(1)} ${seedNote()}`);
}

/** A decoded row: the spans in Part B order, each with the Part A index of its [MASK] and its tokens. */
interface DecodedRow {
  partA: Int32Array;
  spans: { blank: number; tokens: number[] }[];
}

/**
 * Checks row b of a batch token by token against the layout of glm.ts and returns it decoded. Checks
 * that filling the [MASK]s of Part A with the spans gives back x exactly.
 */
function decodeRow(batch: GlmBatch, b: number, x: Int32Array): DecodedRow {
  const L = batch.length;
  const P = batch.prefixLength;
  const row = (a: Int32Array) => a.subarray(b * L, (b + 1) * L);
  const [tokens, pos1, pos2, targets] = [row(batch.tokens), row(batch.pos1), row(batch.pos2), row(batch.targets)];
  for (let i = 0; i < P; i++) {
    if (pos1[i] !== i || pos2[i] !== 0 || targets[i] !== -100) assert.unreachable(`row ${b}, Part A position ${i}: pos1 ${pos1[i]}, pos2 ${pos2[i]}, target ${targets[i]} ${seedNote()}`);
  }
  const spans: DecodedRow['spans'] = [];
  for (let i = P; i < L; ) {
    if (pos2[i] !== 1 || tokens[i] !== START) assert.unreachable(`row ${b}: a span of Part B does not open with [START] at pos2 1 (at ${i}) ${seedNote()}`);
    const blank = pos1[i];
    if (!(blank >= 0 && blank < P) || tokens[blank] !== MASK) assert.unreachable(`row ${b}: pos1 ${blank} of a span is not a [MASK] of Part A ${seedNote()}`);
    let j = i + 1;
    while (j < L && pos2[j] !== 1) j++;
    const span = Array.from(tokens.subarray(i + 1, j));
    assert.ok(span.length >= 1, 'spans are not empty');
    for (let t = i; t < j; t++) {
      if (pos1[t] !== blank || pos2[t] !== t - i + 1) assert.unreachable(`row ${b}, position ${t}: pos1 ${pos1[t]}, pos2 ${pos2[t]} ${seedNote()}`);
      const want = t < j - 1 ? tokens[t + 1] : END;
      if (targets[t] !== want) assert.unreachable(`row ${b}, position ${t}: target ${targets[t]}, expected ${want} ${seedNote()}`);
    }
    spans.push({ blank, tokens: span });
    i = j;
  }
  // Reconstruction.
  const partA = tokens.slice(0, P);
  const byBlank = new Map(spans.map((s) => [s.blank, s.tokens]));
  assert.is(byBlank.size, spans.length, 'each blank is filled once');
  const rebuilt: number[] = [];
  for (let i = 0; i < P; i++) {
    if (partA[i] !== MASK) rebuilt.push(partA[i]);
    else if (byBlank.has(i)) rebuilt.push(...byBlank.get(i)!);
    else assert.unreachable(`row ${b}: [MASK] at ${i} has no span ${seedNote()}`);
  }
  if (rebuilt.length !== x.length || rebuilt.some((t, i) => t !== x[i])) assert.unreachable(`row ${b}: filling Part A does not give back x ${seedNote()}`);
  return { partA, spans };
}

const sorted = (a: readonly number[]) => [...a].sort((p, q) => p - q);

test('every row decodes back to its sequence; coverage, P and L are exact and shared by the batch', () => {
  const r = rng();
  const random = new Random(freshSeed());
  for (const N of [1, 2, 3, 7, 19, 33, 100, 257, 1001]) {
    for (const rate of [0.15, 0.05, 0.5, 0.9]) {
      const B = r.int(1, 6);
      const xs = Array.from({ length: B }, () => sequence(r, N));
      const batch = buildGlmBatch(xs, random, { ...opts, rate, poissonLambda: r.uniform(0.5, 6) });
      const T = Math.max(1, Math.round(rate * N));
      const k = batch.spanLengths.length;
      assert.is(batch.spanLengths.reduce((s, l) => s + l, 0), T, `coverage of N = ${N} at rate ${rate}`);
      assert.ok(batch.spanLengths.every((l) => Number.isInteger(l) && l >= 1));
      assert.is(batch.prefixLength, N - T + k);
      assert.is(batch.length, N + 2 * k);
      assert.is(batch.batchSize, B);
      for (const a of [batch.tokens, batch.pos1, batch.pos2, batch.targets]) assert.is(a.length, B * batch.length);
      for (let b = 0; b < B; b++) {
        const { spans } = decodeRow(batch, b, xs[b]);
        assert.equal(sorted(spans.map((s) => s.tokens.length)), sorted(batch.spanLengths), 'every row has the batch span lengths');
      }
    }
  }
});

test('span lengths follow Poisson(λ) with zeros redrawn', () => {
  for (const lambda of [3, 1.5]) {
    const random = new Random(freshSeed());
    const counts = new Float64Array(40);
    let n = 0;
    let sum = 0;
    for (let draw = 0; draw < 40; draw++) {
      const lengths = sampleSpanLengths(100_000, random, { ...opts, poissonLambda: lambda });
      assert.is(lengths.reduce((s, l) => s + l, 0), 15_000);
      // All but the last are whole draws (the last may be cut). Leaving it out biases the rest by
      // about (var/mean) / k ≈ 2e-4 here (k ≈ 4750 spans a draw), far below the standard error
      // (≈ 0.004 at λ = 3 over the ~190k spans).
      for (const l of lengths.slice(0, -1)) {
        counts[l]++;
        sum += l;
        n++;
      }
    }
    // Zero-truncated Poisson: P(l) = e^-λ λ^l / l! / (1 - e^-λ); mean λ / (1 - e^-λ) (3.157 at λ = 3).
    const z = 1 - Math.exp(-lambda);
    const mean = lambda / z;
    const variance = mean * (1 + lambda - mean);
    within5Sigma(sum / n, mean, Math.sqrt(variance / n), `mean span length at λ = ${lambda}`);
    let p = Math.exp(-lambda);
    for (let l = 1; l <= 8; l++) {
      p *= lambda / l;
      const want = p / z;
      within5Sigma(counts[l] / n, want, Math.sqrt((want * (1 - want)) / n), `share of length ${l} at λ = ${lambda}`);
    }
  }
});

test('placements and Part B orders are uniform', () => {
  const random = new Random(freshSeed());
  // λ = 100: one span of T = round(0.3 · 9) = 3 tokens (Poisson(100) < 3 has probability ~1e-39).
  const starts = new Array(7).fill(0);
  for (let round = 0; round < 30; round++) {
    const xs = Array.from({ length: 100 }, () => Int32Array.from({ length: 9 }, (_, i) => 10 + i));
    const batch = buildGlmBatch(xs, random, { ...opts, rate: 0.3, poissonLambda: 100 });
    assert.equal(batch.spanLengths, [3]);
    for (let b = 0; b < 100; b++) starts[decodeRow(batch, b, xs[b]).spans[0].tokens[0] - 10]++;
  }
  assertUniform(starts, 'start of a single span');

  // λ = 0.01: three spans of one token (a length >= 2 has probability ~0.005 per span; such batches are
  // skipped). Every 3-subset of the 9 positions is an arrangement (spans may touch): 84 equally likely.
  // Part B order: which permutation of the left-to-right spans: 6 equally likely.
  const subsets = new Map<string, number>();
  const orders = new Map<string, number>();
  for (let round = 0; round < 100; round++) {
    const xs = Array.from({ length: 100 }, () => Int32Array.from({ length: 9 }, (_, i) => 10 + i));
    const batch = buildGlmBatch(xs, random, { ...opts, rate: 0.3, poissonLambda: 0.01 });
    if (batch.spanLengths.length !== 3) continue;
    for (let b = 0; b < 100; b++) {
      const { spans } = decodeRow(batch, b, xs[b]);
      const positions = spans.map((s) => s.tokens[0] - 10);
      const key = sorted(positions).join(',');
      subsets.set(key, (subsets.get(key) ?? 0) + 1);
      const order = positions.map((p) => sorted(positions).indexOf(p)).join('');
      orders.set(order, (orders.get(order) ?? 0) + 1);
    }
  }
  assert.is(subsets.size, 84);
  assert.is(orders.size, 6);
  assertUniform([...subsets.values()], 'arrangement of three spans');
  assertUniform([...orders.values()], 'Part B order');
});

test('the spans are placed in a random order of their lengths (the cut last one anywhere)', () => {
  const r = rng();
  const random = new Random(freshSeed());
  // Rows where the last drawn length is unique in the batch: its span is the i-th from the left, and
  // i is uniform over the k places, so it is the rightmost with probability 1/k.
  let rightmost = 0;
  let expected = 0;
  let variance = 0;
  for (let round = 0; round < 300; round++) {
    const xs = Array.from({ length: 8 }, () => Int32Array.from({ length: 40 }, (_, i) => 10 + i));
    const batch = buildGlmBatch(xs, random, { ...opts, rate: r.uniform(0.1, 0.4) });
    const lengths = batch.spanLengths;
    const k = lengths.length;
    const last = lengths[k - 1];
    if (k < 2 || lengths.indexOf(last) !== k - 1) continue;
    for (let b = 0; b < xs.length; b++) {
      const leftToRight = decodeRow(batch, b, xs[b]).spans.map((s) => s.tokens).sort((p, q) => p[0] - q[0]);
      if (leftToRight[k - 1].length === last) rightmost++;
      expected += 1 / k;
      variance += (1 / k) * (1 - 1 / k);
    }
  }
  assert.ok(expected > 100, 'enough rows');
  within5Sigma(rightmost, expected, Math.sqrt(variance), 'rows whose cut last span is the rightmost');
});

test('glmAttendable matches the brute-force mask of the example structure', () => {
  const r = rng();
  const random = new Random(freshSeed());
  let rows = 0;
  for (let round = 0; round < 60; round++) {
    const N = r.int(1, 48);
    const xs = Array.from({ length: r.int(1, 5) }, () => sequence(r, N));
    const batch = buildGlmBatch(xs, random, { ...opts, rate: r.uniform(0.05, 0.6), poissonLambda: r.uniform(0.5, 5) });
    const { length: L, prefixLength: P } = batch;
    for (let b = 0; b < xs.length; b++, rows++) {
      const allowed = glmAllowedRef(glmLayoutFromPos2(batch.pos2.subarray(b * L, (b + 1) * L)));
      for (let q = 0; q < L; q++)
        for (let k = 0; k < L; k++)
          if (glmAttendable(P, L, q, k) !== (allowed[q * L + k] === 1))
            assert.unreachable(`query ${q}, key ${k} of L ${L}, P ${P}: glmAttendable ${glmAttendable(P, L, q, k)}, reference ${allowed[q * L + k] === 1} ${seedNote()}`);
    }
  }
  assert.ok(rows > 60);
});

test('infillStep: layout, and the training input up to any point of Part B', () => {
  // By hand: two blanks, the one at 3 filled with [8, 9], generating the one at 1 after [10].
  const partA = Int32Array.of(5, MASK, 6, MASK, 7);
  assert.equal(infillPrompt(partA, MASK).blanks, [1, 3]);
  const step = infillStep(partA, [{ blank: 3, tokens: [8, 9] }], { blank: 1, tokens: [10] }, START);
  assert.equal(Array.from(step.tokens), [5, MASK, 6, MASK, 7, START, 8, 9, START, 10]);
  assert.equal(Array.from(step.pos1), [0, 1, 2, 3, 4, 3, 3, 3, 1, 1]);
  assert.equal(Array.from(step.pos2), [0, 0, 0, 0, 0, 1, 2, 3, 1, 2]);
  assert.is(step.prefixLength, 5);
  const first = infillStep(partA, [], { blank: 3, tokens: [] }, START);
  assert.equal(Array.from(first.tokens), [5, MASK, 6, MASK, 7, START]);
  assert.equal(Array.from(first.pos1), [0, 1, 2, 3, 4, 3]);
  assert.equal(Array.from(first.pos2), [0, 0, 0, 0, 0, 1]);

  // Against training: the input for span r after j of its tokens is the training row's prefix, whose
  // last target is the token to generate (or [END]).
  const r = rng();
  const random = new Random(freshSeed());
  for (let round = 0; round < 20; round++) {
    const x = sequence(r, r.int(3, 60));
    const batch = buildGlmBatch([x], random, { ...opts, rate: r.uniform(0.1, 0.5) });
    const { partA: a, spans } = decodeRow(batch, 0, x);
    assert.equal(infillPrompt(a, MASK).blanks, sorted(spans.map((s) => s.blank)));
    let at = batch.prefixLength;
    for (let s = 0; s < spans.length; s++) {
      for (let j = 0; j <= spans[s].tokens.length; j++) {
        const input = infillStep(a, spans.slice(0, s), { blank: spans[s].blank, tokens: spans[s].tokens.slice(0, j) }, START);
        const end = at + 1 + j;
        assert.equal(Array.from(input.tokens), Array.from(batch.tokens.subarray(0, end)));
        assert.equal(Array.from(input.pos1), Array.from(batch.pos1.subarray(0, end)));
        assert.equal(Array.from(input.pos2), Array.from(batch.pos2.subarray(0, end)));
        assert.is(input.prefixLength, batch.prefixLength);
        assert.is(batch.targets[end - 1], j < spans[s].tokens.length ? spans[s].tokens[j] : END);
      }
      at += 1 + spans[s].tokens.length;
    }
  }
});

test('the batch is a function of the seed', () => {
  const r = rng();
  const xs = Array.from({ length: 3 }, () => sequence(r, 77));
  const seed = freshSeed();
  const a = buildGlmBatch(xs, new Random(seed), opts);
  const b = buildGlmBatch(xs, new Random(seed), opts);
  assert.equal(a.spanLengths, b.spanLengths);
  assert.equal(Array.from(a.tokens), Array.from(b.tokens));
  assert.equal(Array.from(a.targets), Array.from(b.targets));
  const c = buildGlmBatch(xs, new Random(seed + 1), opts);
  assert.not.equal(Array.from(c.tokens), Array.from(a.tokens));
});

test('bad input throws errors naming the argument', async () => {
  const random = new Random(5);
  const xs = [Int32Array.of(10, 11, 12, 13), Int32Array.of(14, 15, 16, 17)];
  await assertThrows(() => buildGlmBatch([], random, opts), "argument 'sequences'", 'non-empty', 'an array of length 0');
  await assertThrows(() => buildGlmBatch([xs[0], Int32Array.of(10, 11)], random, opts), "argument 'sequences[1]'", 'of 4 token ids', 'Int32Array of length 2');
  await assertThrows(() => buildGlmBatch([new Int32Array(0)], random, opts), "argument 'sequences[0]'", 'Int32Array of length 0');
  await assertThrows(() => buildGlmBatch([xs[0], [1, 2, 3, 4] as unknown as Int32Array], random, opts), "argument 'sequences[1]'", 'an array of length 4');
  await assertThrows(() => buildGlmBatch([xs[0], Int32Array.of(10, 11, 12, START)], random, opts), "argument 'sequences[1][3]'", 'other than maskId', 'got 2');
  await assertThrows(() => buildGlmBatch([Int32Array.of(-4)], random, opts), "argument 'sequences[0][0]'", 'got -4');
  await assertThrows(() => buildGlmBatch(xs, random, { ...opts, startId: MASK }), "argument 'opts.startId'", 'other than maskId', 'got 1');
  await assertThrows(() => buildGlmBatch(xs, random, { ...opts, endId: START }), "argument 'opts.endId'", 'got 2');
  await assertThrows(() => buildGlmBatch(xs, random, { ...opts, maskId: -1 }), "argument 'opts.maskId'", 'got -1');
  for (const rate of [0, 1, NaN]) await assertThrows(() => buildGlmBatch(xs, random, { ...opts, rate }), "argument 'opts.rate'", '(0, 1)', `got ${rate}`);
  for (const poissonLambda of [0, 0.001, 101, Infinity])
    await assertThrows(() => buildGlmBatch(xs, random, { ...opts, poissonLambda }), "argument 'opts.poissonLambda'", '[0.01, 100]', `got ${poissonLambda}`);
  await assertThrows(() => buildGlmBatch(xs, {} as Random, opts), "argument 'random'", 'a Random');
  await assertThrows(() => sampleSpanLengths(0, random, opts), "argument 'n'", 'got 0');

  await assertThrows(() => glmAttendable(5, 4, 0, 0), "argument 'prefixLength'", '[0, 4]', 'got 5');
  await assertThrows(() => glmAttendable(2, 4, 4, 0), "argument 'query'", '[0, 4)', 'got 4');
  await assertThrows(() => glmAttendable(2, 4, 0, -1), "argument 'key'", 'got -1');
  await assertThrows(() => glmAttendable(0, 0, 0, 0), "argument 'length'", 'got 0');

  const partA = Int32Array.of(5, MASK, 6, MASK);
  await assertThrows(() => infillPrompt([5, 1] as unknown as Int32Array, MASK), "argument 'partA'", 'an array of length 2');
  await assertThrows(() => infillPrompt(partA, -2), "argument 'maskId'", 'got -2');
  await assertThrows(() => infillStep(partA, [], { blank: 4, tokens: [] }, START), "argument 'current.blank'", '[0, 4)', 'got 4');
  await assertThrows(() => infillStep(partA, [{ blank: 1, tokens: [7] }], { blank: 1, tokens: [] }, START), "argument 'current.blank'", 'not already in filled', 'got 1');
  await assertThrows(() => infillStep(partA, [{ blank: 1, tokens: [7, -3] }], { blank: 3, tokens: [] }, START), "argument 'filled[0].tokens[1]'", 'got -3');
  await assertThrows(() => infillStep(partA, [{ blank: 1, tokens: 'ab' as unknown as number[] }], { blank: 3, tokens: [] }, START), "argument 'filled[0].tokens'", 'got "ab"');
  await assertThrows(() => infillStep(partA, [], { blank: 3, tokens: [] }, 1.5), "argument 'startId'", 'got 1.5');
  await assertThrows(() => infillStep(new Int32Array(0), [], { blank: 0, tokens: [] }, START), "argument 'partA'", 'got a Int32Array of length 0');
});

test('an end-of-text id inside a window (a document boundary) is text like any other and decodes back', () => {
  const r = rng();
  const xs = [0, 1, 2].map(() => {
    const x = sequence(r, 60);
    for (let k = 0; k < 6; k++) x[r.int(0, 60)] = END;
    return x;
  });
  const batch = buildGlmBatch(xs, new Random(freshSeed()), opts);
  xs.forEach((x, b) => decodeRow(batch, b, x));
});

test.run();
