/**
 * sampleTokens / sampleLogits: greedy is the argmax (ties to the lowest id); the processed logits
 * (bias, penalties) agree to the bit with the f32-emulating reference; each draw is the reference's
 * token for the same Philox uniform (except where a decision lies within rounding of a threshold);
 * draw frequencies pass a chi-square test against the exact filtered softmax for temperature, top-k,
 * top-p, min-p and combinations; determinism in (seed, offset); awkward sizes; bf16; bad input.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { Tensor } from '../lib/index';
import { sampleLogits, sampleTokens, SampleOptions } from '../lib/ops/sample';
import { assertThrows } from './helpers/assert';
import { deviceAvailable, deviceSuites } from './helpers/devices';
import { rng, roundBf16, seedNote } from './helpers/random';
import { argmaxRef, DEFAULTS, drawRef, filterRef, processLogitsRef, SampleParamsRef, sampleUniformRef } from './reference/sample';

const params = (o: Partial<SampleParamsRef>): SampleParamsRef => ({ ...DEFAULTS, ...o });

/** Upper 1e-6 quantile of chi-square with df degrees of freedom (Wilson-Hilferty; z = 4.7534). */
function chiSquareCritical(df: number): number {
  const z = 4.7534, a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Logits with repeated values (ties) and a spread that leaves several likely tokens. */
function testLogits(n: number, r = rng()): Float32Array {
  const x = r.normals(n, 2);
  for (let i = 0; i + 3 < n; i += 7) x[i + 3] = x[i];  // ties
  return x;
}

deviceSuites('sampleTokens', (test, device) => {
  test('temperature 0 is the argmax, ties to the lowest id (V = 1, 7, 65, 50257; B = 1, 3)', async () => {
    for (const V of [1, 7, 65, 50257]) {
      for (const B of [1, 3]) {
        const r = rng();
        const x = testLogits(B * V, r);
        // A tie for the max in row 0: the lower id wins.
        if (V > 5) x[V - 1] = x[2] = 100;
        const ids = await sampleTokens(Tensor.from(x, [B, V], { device }), { temperature: 0, seed: 1, topK: 3, topP: 0.5 }).toArray();
        assert.is(ids.length, B);
        for (let b = 0; b < B; b++)
          assert.is(ids[b], argmaxRef(x.subarray(b * V, (b + 1) * V)), `V=${V} B=${B} row ${b} ${seedNote()}`);
        if (V > 5) assert.is(ids[0], 2);
      }
    }
  });

  test('each draw is the reference token of the same Philox uniform (sizes, filters, bf16)', async () => {
    const configs: Partial<SampleParamsRef>[] = [
      {}, { temperature: 0.6 }, { topK: 1 }, { topK: 5 }, { topP: 0.7 }, { minP: 0.1 }, { topK: 20, topP: 0.9, minP: 0.02 },
      { temperature: 1.7, topP: 0.95 }, { topK: 100000 },
    ];
    let fragile = 0, total = 0;
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const V of [1, 7, 65, 50257]) {
        const B = V > 1000 ? 2 : 3;
        const r = rng();
        let x = testLogits(B * V, r);
        if (dtype === 'bf16') x = roundBf16(x);
        const logits = Tensor.from(x, [B, V], { dtype, device });
        for (const c of configs) {
          const p = params(c);
          const seed = r.int(0, 2 ** 32) + 2 ** 40, offset = r.int(0, 2 ** 31);
          const ids = await sampleTokens(logits, { ...c, seed, offset }).toArray();
          for (let b = 0; b < B; b++) {
            const fl = filterRef(x.subarray(b * V, (b + 1) * V), p);
            const { id, margin } = drawRef(fl, sampleUniformRef(seed, offset, b));
            total++;
            // Within rounding of a threshold (exp's last bit, the order of the sums): either side is right.
            if (margin < 1e-7) {
              fragile++;
              assert.ok(fl.kept.includes(ids[b]), `a kept token even near a threshold`);
              continue;
            }
            if (ids[b] !== id)
              assert.unreachable(`${dtype} V=${V} ${JSON.stringify(c)} row ${b} seed=${seed} offset=${offset}: got ${ids[b]}, expected ${id} ${seedNote()}`);
          }
        }
      }
    }
    assert.ok(fragile <= total / 20, `${fragile} of ${total} draws too close to a threshold to compare`);
  });

  test('draws with bias and penalties are the reference tokens of the processed logits', async () => {
    const r = rng();
    const B = 3, V = 65, L = 30;
    const x = testLogits(B * V, r);
    const hist = new Int32Array(B * L).map(() => (r.next() < 0.2 ? -1 : r.int(0, V)));
    const bv = r.normals(B * V, 0.5);
    const c = { repetitionPenalty: 1.4, frequencyPenalty: 0.2, presencePenalty: 0.3, topP: 0.9, temperature: 0.8 };
    const proc = processLogitsRef(x, B, V, params(c), { ids: hist, L }, { values: bv, rows: B });
    const logits = Tensor.from(x, [B, V], { device });
    const history = Tensor.from(hist, [B, L], { device }), logitBias = Tensor.from(bv, [B, V], { device });
    let compared = 0;
    for (let offset = 0; offset < 40; offset++) {
      const ids = await sampleTokens(logits, { ...c, history, logitBias, seed: 77, offset }).toArray();
      for (let b = 0; b < B; b++) {
        const { id, margin } = drawRef(filterRef(proc.subarray(b * V, (b + 1) * V), params(c)), sampleUniformRef(77, offset, b));
        if (margin < 1e-7) continue;
        compared++;
        assert.is(ids[b], id, `offset ${offset} row ${b} ${seedNote()}`);
      }
    }
    assert.ok(compared >= 100, `${compared} of 120 draws compared`);
  });

  test('draw frequencies match the filtered softmax (chi-square, critical value at 1e-6)', async () => {
    const V = 24, B = 2500, calls = 2;
    const r = rng();
    const row = r.normals(V, 1.3);
    const x = new Float32Array(B * V);
    for (let b = 0; b < B; b++) x.set(row, b * V);
    const logits = Tensor.from(x, [B, V], { device });
    const configs: Partial<SampleParamsRef>[] = [
      {}, { temperature: 0.5 }, { temperature: 2 }, { topK: 6 }, { topP: 0.8 }, { minP: 0.15 },
      { topK: 10, topP: 0.9 }, { temperature: 1.5, topP: 0.85, minP: 0.05 }, { topK: 12, minP: 0.03, temperature: 0.8 },
    ];
    for (const c of configs) {
      const fl = filterRef(row, params(c));
      const counts = new Float64Array(V);
      const seed = r.int(0, 2 ** 32);
      for (let k = 0; k < calls; k++) {
        const ids = await sampleTokens(logits, { ...c, seed, offset: 1000 * k }).toArray();
        for (const id of ids) counts[id]++;
      }
      const n = B * calls;
      for (let v = 0; v < V; v++)
        if (fl.probs[v] === 0 && counts[v] > 0) assert.unreachable(`${JSON.stringify(c)}: filtered token ${v} drawn ${counts[v]} times`);
      // Bins with expected counts below 5 are merged into one.
      let chi = 0, bins = 0, smallE = 0, smallO = 0;
      for (const v of fl.kept) {
        const e = n * fl.probs[v];
        if (e < 5) {
          smallE += e;
          smallO += counts[v];
          continue;
        }
        chi += (counts[v] - e) ** 2 / e;
        bins++;
      }
      if (smallE > 0) {
        chi += (smallO - smallE) ** 2 / smallE;
        bins++;
      }
      if (bins < 2) continue;
      const crit = chiSquareCritical(bins - 1);
      if (!(chi < crit))
        assert.unreachable(`${JSON.stringify(c)}: chi-square ${chi.toFixed(1)} >= ${crit.toFixed(1)} (${bins - 1} df) ${seedNote()}`);
    }
  });

  test('penalties change exactly the tokens in the history, as the reference does', async () => {
    const r = rng();
    const B = 3, V = 65, L = 40;
    const x = testLogits(B * V, r);
    const hist = new Int32Array(B * L);
    for (let i = 0; i < B * L; i++) hist[i] = r.next() < 0.2 ? -1 : r.int(0, 12) * 5;  // repeats, padding
    const history = Tensor.from(hist, [B, L], { device });
    const logits = Tensor.from(x, [B, V], { device });
    for (const c of [{ repetitionPenalty: 1.3 }, { repetitionPenalty: 0.7 }, { frequencyPenalty: 0.4 }, { presencePenalty: 1.1 },
      { repetitionPenalty: 1.2, frequencyPenalty: 0.3, presencePenalty: -0.5 }]) {
      const got = await sampleLogits(logits, { ...c, history, seed: 0 }).toArray();
      const want = processLogitsRef(x, B, V, params(c), { ids: hist, L });
      let changed = 0;
      for (let i = 0; i < B * V; i++) {
        if (!Object.is(got[i], want[i])) assert.unreachable(`${JSON.stringify(c)} at ${i}: got ${got[i]}, expected ${want[i]}`);
        const inHistory = Array.from(hist.subarray(Math.floor(i / V) * L, (Math.floor(i / V) + 1) * L)).includes(i % V);
        if (!inHistory) assert.is(got[i], x[i], `token ${i % V} not in row ${Math.floor(i / V)}'s history is unchanged`);
        else if (got[i] !== x[i]) changed++;
      }
      assert.ok(changed > 0, 'some penalised tokens changed');
    }
    // Greedy sees the penalised logits: a repeated top token loses to the runner-up.
    const row = new Float32Array([1, 5, 4.5, 0]);
    const ids = await sampleTokens(Tensor.from(row, [1, 4], { device }), {
      temperature: 0, seed: 0, history: Tensor.from(new Int32Array([1, -1, 1]), [1, 3], { device }), frequencyPenalty: 0.3,
    }).toArray();
    assert.is(ids[0], 2);
  });

  test('logitBias ([V] and [B, V]) is added first; -Infinity bans a token', async () => {
    const r = rng();
    const B = 3, V = 7;
    const x = testLogits(B * V, r);
    const logits = Tensor.from(x, [B, V], { device });
    for (const rows of [1, B]) {
      const bv = r.normals(rows * V);
      const bias = Tensor.from(bv, rows === 1 ? [V] : [B, V], { device });
      const got = await sampleLogits(logits, { logitBias: bias, seed: 0 }).toArray();
      const want = processLogitsRef(x, B, V, DEFAULTS, undefined, { values: bv, rows });
      for (let i = 0; i < B * V; i++) assert.ok(Object.is(got[i], want[i]), `bias rows=${rows} at ${i}: ${got[i]} vs ${want[i]}`);
    }
    const ban = new Float32Array(V);
    for (let b = 0; b < B; b++) ban[argmaxRef(x.subarray(b * V, (b + 1) * V))] = -Infinity;
    const banT = Tensor.from(ban, [V], { device });
    const many = Tensor.from(new Float32Array(200 * V).map((_, i) => x[i % V]), [200, V], { device });
    const ids = await sampleTokens(many, { logitBias: banT, seed: 3 }).toArray();
    for (const id of ids) assert.ok(ban[id] === 0, `banned token ${id} drawn`);
  });

  test('same (seed, offset) gives the same tokens; another offset or seed gives others', async () => {
    const B = 64, V = 1000;
    const x = new Float32Array(B * V).map(() => 0);  // uniform: every token equally likely
    const logits = Tensor.from(x, [B, V], { device });
    const draw = async (o: SampleOptions) => Array.from(await sampleTokens(logits, o).toArray());
    const a = await draw({ seed: 5, offset: 7, topP: 0.9 });
    assert.equal(await draw({ seed: 5, offset: 7, topP: 0.9 }), a);
    for (const o of [{ seed: 5, offset: 8 }, { seed: 6, offset: 7 }, { seed: 5 + 2 ** 32, offset: 7 }]) {
      const b = await draw({ ...o, topP: 0.9 });
      const same = a.filter((v, i) => v === b[i]).length;
      assert.ok(same < 6, `${JSON.stringify(o)}: ${same} of ${B} rows repeat`);
    }
    // Rows of one call draw independently too.
    assert.ok(new Set(a).size > B / 2, 'rows draw different tokens');
  });

  test('non-finite logits: NaN is never drawn, +Infinity always is', async () => {
    const x = new Float32Array([NaN, 1, Infinity, 2, NaN, Infinity, 0]);
    const many = Tensor.from(new Float32Array(100 * 7).map((_, i) => x[i % 7]), [100, 7], { device });
    for (const id of await sampleTokens(many, { seed: 1 }).toArray()) assert.ok(id === 2 || id === 5, `drew ${id}`);
    assert.is((await sampleTokens(many, { seed: 1, temperature: 0 }).toArray())[0], 2);
  });

  test('a history id outside [-1, V) is reported at the next read', async () => {
    const logits = Tensor.zeros([2, 5], { device });
    const history = Tensor.from(new Int32Array([0, -1, 3, 5]), [2, 2], { device });
    await assertThrows(() => sampleTokens(logits, { seed: 1, history, repetitionPenalty: 1.5 }).toArray(), 'sampleTokens', '5', 'index 3');
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const op = 'sampleTokens';
    const l = Tensor.zeros([2, 5], { device });
    await assertThrows(() => sampleTokens(Tensor.zeros([2, 5], { dtype: 'i32', device }), { seed: 1 }), op, "'logits'", 'f32 or bf16', 'i32');
    await assertThrows(() => sampleTokens(Tensor.zeros([10], { device }), { seed: 1 }), op, "'logits'", '2-D', '[10]');
    await assertThrows(() => sampleTokens(Tensor.zeros([2, 0], { device }), { seed: 1 }), op, "'logits'", 'at least one token');
    await assertThrows(() => sampleTokens(l, undefined as unknown as SampleOptions), op, "'opts'", 'undefined');
    await assertThrows(() => sampleTokens(l, {} as SampleOptions), op, "'seed'", 'integer', 'undefined');
    for (const topP of [0, -0.1, 1.5, NaN]) await assertThrows(() => sampleTokens(l, { seed: 1, topP }), op, "'topP'", '(0, 1]', String(topP));
    for (const temperature of [-1, NaN, Infinity])
      await assertThrows(() => sampleTokens(l, { seed: 1, temperature }), op, "'temperature'", '>= 0', String(temperature));
    for (const topK of [-1, 1.5]) await assertThrows(() => sampleTokens(l, { seed: 1, topK }), op, "'topK'", 'integer', String(topK));
    for (const minP of [1, -0.1]) await assertThrows(() => sampleTokens(l, { seed: 1, minP }), op, "'minP'", '[0, 1)', String(minP));
    for (const repetitionPenalty of [0, -1]) await assertThrows(() => sampleTokens(l, { seed: 1, repetitionPenalty }), op, "'repetitionPenalty'", '> 0');
    await assertThrows(() => sampleTokens(l, { seed: 1, frequencyPenalty: NaN }), op, "'frequencyPenalty'", 'finite');
    await assertThrows(() => sampleTokens(l, { seed: -1 }), op, "'seed'", 'integer');
    await assertThrows(() => sampleTokens(l, { seed: 1, offset: 0.5 }), op, "'offset'", 'integer');
    await assertThrows(() => sampleTokens(l, { seed: 1, history: Tensor.zeros([2, 3], { device }) }), op, "'history'", 'i32', 'f32');
    await assertThrows(() => sampleTokens(l, { seed: 1, history: Tensor.zeros([3, 3], { dtype: 'i32', device }) }), op, "'history'", '[2, L]', '[3, 3]');
    await assertThrows(() => sampleTokens(l, { seed: 1, logitBias: Tensor.zeros([4], { device }) }), op, "'logitBias'", '[5] or [2, 5]', '[4]');
    await assertThrows(() => sampleTokens(l, { seed: 1, logitBias: Tensor.zeros([5], { dtype: 'bf16', device }) }), op, "'logitBias'", 'f32', 'bf16');
    const other = device === 'cpu' ? null : 'cpu';
    if (other) {
      await assertThrows(() => sampleTokens(l, { seed: 1, history: Tensor.zeros([2, 3], { dtype: 'i32', device: other }) }), op, "'history'", other);
    }
  });
});

// A device mismatch needs two devices: cpu logits with a cuda:0 history, when a GPU exists.
const cross = suite('sampleTokens [history on another device]');
if (deviceAvailable('cuda:0')) {
  cross('history on cuda:0 for cpu logits is rejected', async () => {
    await assertThrows(() => sampleTokens(Tensor.zeros([1, 3]), { seed: 1, history: Tensor.zeros([1, 2], { dtype: 'i32', device: 'cuda:0' }) }),
      'sampleTokens', "'history'", 'cpu', 'cuda:0');
  });
} else {
  cross.skip('history on cuda:0 for cpu logits is rejected (skipped: no CUDA device)', () => {});
}
cross.run();
