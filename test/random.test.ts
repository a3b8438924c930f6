/**
 * lib/random.ts: the xoshiro128** stream against the reference implementation's known outputs and an
 * independent BigInt implementation, statistical sanity of uniform/int/normal/shuffle for large n,
 * exact reproducibility from a seed and after a state restore, and bad input.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Random } from '../lib/random';
import { assertThrows } from './helpers/assert';
import { rng, seedNote } from './helpers/random';

/** A fresh seed for this run's test (printed on failure through seedNote). */
const freshSeed = (): number => rng().int(0, 2 ** 31);

/** xoshiro128** written independently with BigInt arithmetic, as the reference. */
function referenceXoshiro(state: readonly number[]): () => number {
  const M = (1n << 32n) - 1n;
  const s = state.map(BigInt);
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  return () => {
    const result = (rotl((s[1] * 5n) & M, 7n) * 9n) & M;
    const t = (s[1] << 9n) & M;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
    return Number(result);
  };
}

/** Normal CDF for the chi-square-free checks (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Asserts |value - expected| <= 5 standard errors (a false failure about once in 1.7 million). */
function within5Sigma(value: number, expected: number, stdError: number, what: string): void {
  const z = (value - expected) / stdError;
  if (!(Math.abs(z) <= 5)) assert.unreachable(`${what}: ${value} vs expected ${expected} is ${z.toFixed(2)} standard errors off ${seedNote()}`);
}

/** Chi-square statistic of counts against equal expected counts. */
function chiSquare(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const e = total / counts.length;
  let chi = 0;
  for (let i = 0; i < counts.length; i++) chi += (counts[i] - e) ** 2 / e;
  return chi;
}

/**
 * Upper bound for chi-square with k degrees of freedom at p ≈ 1e-6 (Wilson–Hilferty approximation with
 * z = 4.75), so a correct generator fails it about once in a million runs.
 */
function chiBound(k: number): number {
  const z = 4.75;
  return k * (1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k))) ** 3;
}

test('nextU32 reproduces the reference C implementation (known outputs and states)', () => {
  // From Vigna's xoshiro128starstar.c, run from this state (the test vectors of the xoshiro-6502 port).
  const r = Random.fromState([0x964d4a0c, 0xd40ab895, 0xad7fdecb, 0x3006f0f0]);
  const outputs = [0xf1391922, 0x6fe53806, 0xa5be2840, 0xf510ee70];
  const states = [
    [0x72410269, 0xef382c52, 0x2e43bec7, 0x62432f20],
    [0xff3a011b, 0xb33a90fc, 0x2c5a18ae, 0xd81b946b],
    [0x941b058c, 0x605a8949, 0xa641e1b5, 0x0824bb59],
    [0xfc65379c, 0x52006d70, 0x87487639, 0xf1908343],
  ];
  for (let i = 0; i < 4; i++) {
    assert.is(r.nextU32(), outputs[i], `output ${i}`);
    assert.equal(r.getState(), states[i], `state after output ${i}`);
  }
});

test('nextU32 matches an independent BigInt implementation over 20000 outputs from a seeded state', () => {
  const r = new Random(freshSeed());
  const ref = referenceXoshiro(r.getState());
  for (let i = 0; i < 20000; i++) {
    const got = r.nextU32();
    const want = ref();
    if (got !== want) assert.unreachable(`output ${i}: ${got} vs reference ${want} ${seedNote()}`);
  }
});

test('a seed determines the stream; different seeds (also beyond 2^32) give different streams', () => {
  const seed = freshSeed();
  const a = new Random(seed);
  const b = new Random(seed);
  for (let i = 0; i < 1000; i++) assert.is(a.nextU32(), b.nextU32());
  // Seeds 0..999 and seed + k·2^32: no two first-four-output tuples coincide.
  const seen = new Set<string>();
  const seeds = [...Array.from({ length: 1000 }, (_, i) => i), seed + 2 ** 32, seed + 2 ** 33, 2 ** 53 - 1];
  for (const s of seeds) {
    const r = new Random(s);
    const key = [r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()].join(',');
    assert.not.ok(seen.has(key), `seed ${s} repeats another seed's stream`);
    seen.add(key);
  }
  assert.is.not(new Random(seed + 2 ** 32).nextU32(), new Random(seed).nextU32(), 'the high bits of a seed matter');
});

test('getState/setState resume the exact stream of every method, through JSON', () => {
  const r = new Random(freshSeed());
  for (let i = 0; i < 37; i++) r.uniform();
  const saved = JSON.parse(JSON.stringify(r.getState()));
  const draw = (g: Random) => [g.nextU32(), g.uniform(), g.int(1000), g.int(3 * 2 ** 40), g.normal(), ...g.normals(5, 2), ...g.shuffle([1, 2, 3, 4, 5, 6])];
  const first = draw(r);
  const resumed = Random.fromState(saved);
  assert.equal(draw(resumed), first);
  const other = new Random(1);
  other.setState(saved);
  assert.equal(draw(other), first);
  assert.equal(other.getState(), resumed.getState());
});

test('uniform: in [0, 1), mean 1/2 and variance 1/12 for n = 200000, 53-bit resolution', () => {
  const r = new Random(freshSeed());
  const n = 200000;
  let sum = 0;
  let sum2 = 0;
  let nonDyadic24 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    if (!(u >= 0 && u < 1)) assert.unreachable(`uniform() gave ${u}`);
    sum += u;
    sum2 += u * u;
    if (u * 2 ** 24 !== Math.floor(u * 2 ** 24)) nonDyadic24++;
  }
  const mean = sum / n;
  const variance = sum2 / n - mean * mean;
  within5Sigma(mean, 0.5, Math.sqrt(1 / 12 / n), 'mean');
  // Var of the sample variance of U(0,1): (1/80 - 1/144) / n.
  within5Sigma(variance, 1 / 12, Math.sqrt((1 / 80 - 1 / 144) / n), 'variance');
  // With only 24 random bits every value would be a multiple of 2^-24.
  assert.ok(nonDyadic24 > n * 0.99, `only ${nonDyadic24} of ${n} values use more than 24 bits`);
});

test('int(n): in range, chi-square uniform for n = 7 and 1000, and unbiased where modulo would not be', () => {
  const r = new Random(freshSeed());
  for (const k of [7, 1000]) {
    const counts = new Float64Array(k);
    const draws = 100 * k + 50000;
    for (let i = 0; i < draws; i++) {
      const v = r.int(k);
      if (!(Number.isInteger(v) && v >= 0 && v < k)) assert.unreachable(`int(${k}) gave ${v}`);
      counts[v]++;
    }
    const chi = chiSquare(counts);
    assert.ok(chi < chiBound(k - 1), `int(${k}): chi-square ${chi.toFixed(1)} over ${k - 1} d.o.f. exceeds ${chiBound(k - 1).toFixed(1)} ${seedNote()}`);
  }
  // n = 3·2^30 and 3·2^50: plain u32 % n (or u53 % n) would put half the draws below n/3, not a third.
  for (const [k, third] of [
    [3 * 2 ** 30, 2 ** 30],
    [3 * 2 ** 50, 2 ** 50],
  ]) {
    const n = 60000;
    let below = 0;
    for (let i = 0; i < n; i++) {
      const v = r.int(k);
      if (!(Number.isInteger(v) && v >= 0 && v < k)) assert.unreachable(`int(${k}) gave ${v}`);
      if (v < third) below++;
    }
    within5Sigma(below / n, 1 / 3, Math.sqrt((1 / 3) * (2 / 3) / n), `fraction of int(${k}) below ${k}/3`);
  }
  for (let i = 0; i < 100; i++) assert.is(r.int(1), 0);
  assert.ok(r.int(2 ** 53 - 1) < 2 ** 53 - 1);
});

test('normal and normals: mean 0, variance std², 68.27% within one std, for n = 200000', () => {
  const r = new Random(freshSeed());
  const n = 200000;
  for (const [label, values, std] of [
    ['normal()', Float64Array.from({ length: n }, () => r.normal()), 1],
    ['normals(n, 0.02)', r.normals(n, 0.02), 0.02],
    ['normals(n + 1, 3) (odd n)', r.normals(n + 1, 3), 3],
  ] as const) {
    let sum = 0;
    let sum2 = 0;
    let inside = 0;
    for (const v of values) {
      if (!Number.isFinite(v)) assert.unreachable(`${label} gave ${v}`);
      sum += v;
      sum2 += v * v;
      if (Math.abs(v) < std) inside++;
    }
    const m = values.length;
    within5Sigma(sum / m, 0, std / Math.sqrt(m), `${label} mean`);
    within5Sigma(sum2 / m, std * std, std * std * Math.sqrt(2 / m), `${label} second moment`);
    const p = phi(1) - phi(-1);
    within5Sigma(inside / m, p, Math.sqrt((p * (1 - p)) / m), `${label} fraction within one std`);
  }
  assert.is(r.normals(0).length, 0);
});

test('shuffle: a permutation, every one of the 24 orders of 4 items equally likely', () => {
  const r = new Random(freshSeed());
  const counts = new Map<string, number>();
  for (let i = 0; i < 48000; i++) {
    const key = r.shuffle(['a', 'b', 'c', 'd']).join('');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.is(counts.size, 24);
  const chi = chiSquare([...counts.values()]);
  assert.ok(chi < chiBound(23), `chi-square ${chi.toFixed(1)} over 23 d.o.f. ${seedNote()}`);
  const big = r.shuffle(Int32Array.from({ length: 1000 }, (_, i) => i));
  assert.equal([...big].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i), 'a typed array is permuted in place');
});

test('bad input: seeds, int(n), normals, setState each name the argument', async () => {
  await assertThrows(() => new Random(-1), "Random: argument 'seed'", 'non-negative safe integer', '-1');
  await assertThrows(() => new Random(1.5), "argument 'seed'", '1.5');
  await assertThrows(() => new Random(NaN), "argument 'seed'", 'NaN');
  const r = new Random(3);
  await assertThrows(() => r.int(0), "Random.int: argument 'n'", 'positive safe integer', 'got 0');
  await assertThrows(() => r.int(2.5), "argument 'n'", '2.5');
  await assertThrows(() => r.int(2 ** 60), "argument 'n'");
  await assertThrows(() => r.normals(-1), "Random.normals: argument 'n'");
  await assertThrows(() => r.normals(3, NaN), "argument 'std'", 'NaN');
  await assertThrows(() => r.setState([0, 0, 0, 0]), 'Random.setState', 'not all zero');
  await assertThrows(() => r.setState([1, 2, 3]), 'Random.setState', 'an array of length 3');
  await assertThrows(() => r.setState([1, 2, 3, 2 ** 32]), 'Random.setState');
  await assertThrows(() => Random.fromState('x' as unknown as number[]), 'Random.setState');
  // A failed setState leaves the generator as it was.
  const before = r.getState();
  await assertThrows(() => r.setState([1, -2, 3, 4]), 'Random.setState');
  assert.equal(r.getState(), before);
});

test.run();
