/**
 * KV-cache decoding: GPT.forwardCached (prefill, then one token per step) gives the logits of a full
 * recompute for every positional kind, prompt lengths 1, 7 and 65, up to blockSize; the final
 * sequence also against the float64 reference; rows of different lengths in one batch (right-padded
 * prefill, per-row positions) equal each row alone; a chunked continuation; memory that does not
 * grow per token; the native cache write against a plain copy loop; and bad input.
 */
import * as assert from 'uvu/assert';

import { memory, noGrad, scope, synchronize, Tensor } from '../lib/index';
import { GPT, GPTConfig, KVCache } from '../lib/models/gpt';
import { writeCache } from '../lib/nn/kvCache';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { settledAllocated } from './helpers/memory';
import { rng, Rng, roundBf16 } from './helpers/random';
import { gptForwardRef, randomGptParams } from './reference/gpt';

const BASE: GPTConfig = { vocabSize: 13, nLayer: 2, nHead: 3, nEmbd: 24, blockSize: 80, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000 };
const KINDS: GPTConfig['positional'][] = ['learned', 'sinusoidal', 'rope'];

/** A model with random weights far from init (so positions matter), and those weights in float64. */
function randomModel(cfg: GPTConfig, r: Rng, device: string) {
  const model = new GPT(cfg, { seed: r.int(0, 1000), device });
  const values = randomGptParams(model.specs, () => r.normal() * 0.5);
  scope(() => model.loadStateDict(Object.fromEntries(model.specs.map((s) => [s.name, Tensor.from(values[s.name], s.shape, { device })]))));
  return { model, ref: values };
}

const ids = (rows: number[][], device: string) => Tensor.from(Int32Array.from(rows.flat()), [rows.length, rows[0].length], { dtype: 'i32', device });

/** Logits of the last position of each sequence by a full forward (no cache). */
async function fullLast(model: GPT, seqs: number[][], device: string): Promise<Float32Array> {
  return scope(() => noGrad(() => model.logitsLast(ids(seqs, device)))).toArray() as Promise<Float32Array>;
}

deviceSuites('KV cache vs full recompute', (test, device) => {
  for (const positional of KINDS) {
    test(`${positional}: prompts of 1, 7 and 65 tokens, decoded to blockSize, equal the full forward`, async () => {
      const cfg = { ...BASE, positional };
      const r = rng();
      const { model, ref } = randomModel(cfg, r, device);
      for (const P of [1, 7, 65]) {
        const seqs = [Array.from(r.ints(P, 0, cfg.vocabSize)), Array.from(r.ints(P, 0, cfg.vocabSize))];
        const cache = model.createCache(2);
        let logits = model.forwardCached(ids(seqs, device), cache, { last: true });
        for (let len = P; ; len++) {
          assert.equal(cache.lengths, [len, len]);
          assertClose(await logits.toArray(), await fullLast(model, seqs, device), 1e-4, `${positional} P=${P} logits at length ${len}`);
          logits.dispose();
          if (len === cfg.blockSize) break;
          // The next tokens come from the test's rng, not the model: every position is checked alike.
          const next = [r.int(0, cfg.vocabSize), r.int(0, cfg.vocabSize)];
          seqs.forEach((s, b) => s.push(next[b]));
          logits = scope(() => model.forwardCached(ids(next.map((t) => [t]), device), cache, { last: true }));
        }
        await assertThrows(() => model.forwardCached(ids([[1], [2]], device), cache), 'GPT.forwardCached', 'at most 0 new tokens');
        cache.dispose();
        if (P === 7) {
          // The whole decoded sequence against the float64 reference, through a fresh all-positions prefill.
          const c2 = model.createCache(2);
          const all = model.forwardCached(ids(seqs, device), c2);
          assert.equal(all.shape, [2, cfg.blockSize, cfg.vocabSize]);
          const expected = gptForwardRef(cfg, ref, seqs.flat(), 2, cfg.blockSize).logits;
          assertClose(await all.toArray(), expected, 1e-4, `${positional} prefill of ${cfg.blockSize} vs float64 reference`);
          all.dispose();
          c2.dispose();
        }
      }
      model.dispose();
    });
  }

  for (const positional of KINDS) {
    test(`${positional}: rows of different lengths (right-padded prefill, per-row positions) equal each row alone`, async () => {
      const cfg = { ...BASE, blockSize: 32, positional };
      const r = rng();
      const { model } = randomModel(cfg, r, device);
      const lens = [3, 11, 1];
      const seqs = lens.map((n) => Array.from(r.ints(n, 0, cfg.vocabSize)));
      const T = Math.max(...lens);
      const padded = seqs.map((s) => [...s, ...new Array<number>(T - s.length).fill(0)]);
      const cache = model.createCache(3);
      let logits = model.forwardCached(ids(padded, device), cache, { counts: lens, last: true });
      for (let step = 0; step < 10; step++) {
        assert.equal(cache.lengths, lens.map((n) => n + step));
        const got = await logits.toArray();
        logits.dispose();
        for (let b = 0; b < 3; b++)
          assertClose(got.subarray(b * cfg.vocabSize, (b + 1) * cfg.vocabSize), await fullLast(model, [seqs[b]], device), 1e-4, `${positional} row ${b} step ${step}`);
        const next = seqs.map(() => r.int(0, cfg.vocabSize));
        seqs.forEach((s, b) => s.push(next[b]));
        logits = scope(() => model.forwardCached(ids(next.map((t) => [t]), device), cache, { last: true }));
      }
      logits.dispose();
      // Several tokens after rows of different lengths run row by row: all positions' logits.
      const more = seqs.map(() => Array.from(r.ints(4, 0, cfg.vocabSize)));
      const chunk = model.forwardCached(ids(more, device), cache);
      const got = await chunk.toArray();
      for (let b = 0; b < 3; b++) {
        const full = scope(() => noGrad(() => model.forward(ids([[...seqs[b], ...more[b]]], device)).logits!)).toArraySync();
        const V = cfg.vocabSize, n = seqs[b].length;
        assertClose(got.subarray(b * 4 * V, (b + 1) * 4 * V), full.subarray(n * V, (n + 4) * V), 1e-4, `${positional} chunk row ${b}`);
      }
      chunk.dispose();
      cache.dispose();
      model.dispose();
    });
  }

  test('a chunk after a common prefix (uniform start > 0, T > 1) and truncate/rewind', async () => {
    const cfg = { ...BASE, blockSize: 32, positional: 'rope' as const };
    const r = rng();
    const { model } = randomModel(cfg, r, device);
    const seqs = [Array.from(r.ints(9, 0, 13)), Array.from(r.ints(9, 0, 13))];
    const cache = model.createCache(2, 20);
    model.forwardCached(ids(seqs.map((s) => s.slice(0, 5)), device), cache).dispose();
    const rest = model.forwardCached(ids(seqs.map((s) => s.slice(5)), device), cache);
    const full = scope(() => noGrad(() => model.forward(ids(seqs, device)).logits!)).toArraySync();
    const V = 13, got = await rest.toArray();
    for (let b = 0; b < 2; b++) assertClose(got.subarray(b * 4 * V, (b + 1) * 4 * V), full.subarray((b * 9 + 5) * V, (b + 1) * 9 * V), 1e-4, `chunk row ${b}`);
    rest.dispose();
    // Rewinding row 1 to 5 tokens and feeding a different continuation overwrites its old keys.
    cache.truncate(5, 1);
    assert.equal(cache.lengths, [9, 5]);
    const other = Array.from(r.ints(4, 0, 13));
    const alt = model.forwardCached(ids([other], device), cache.rows(1, 1), { last: true });
    assertClose(await alt.toArray(), await fullLast(model, [[...seqs[1].slice(0, 5), ...other]], device), 1e-4, 'rewound row');
    alt.dispose();
    assert.equal(cache.lengths, [9, 9]);
    cache.dispose();
    model.dispose();
  });

  test('bf16 cache under autocast follows the f32 logits', async () => {
    const cfg = { ...BASE, blockSize: 16 };
    const r = rng();
    const { model } = randomModel(cfg, r, device);
    const seq = [Array.from(r.ints(6, 0, 13))];
    const cache = model.createCache(1, 16, { autocast: 'bf16' });
    assert.is(cache.dtype, 'bf16');
    const a = model.forwardCached(ids(seq, device), cache, { last: true, autocast: 'bf16' });
    assert.is(a.dtype, 'bf16');
    assertClose(await a.toArray(), await fullLast(model, seq, device), 3e-2, 'bf16 prefill');
    const b = model.forwardCached(ids([[4]], device), cache, { last: true, autocast: 'bf16' });
    assertClose(await b.toArray(), await fullLast(model, [[...seq[0], 4]], device), 3e-2, 'bf16 step');
    await assertThrows(() => model.forwardCached(ids([[4]], device), cache), 'opts.autocast', 'bf16');
    a.dispose();
    b.dispose();
    cache.dispose();
    model.dispose();
  });

  test('buffers are allocated once: memory does not grow per token, and dispose frees them', async () => {
    const cfg = { ...BASE, blockSize: 64 };
    const r = rng();
    const { model } = randomModel(cfg, r, device);
    // Warm the model's own lazily made buffers (position ids) before measuring.
    scope(() => noGrad(() => model.logitsLast(ids([[1]], device))));
    // Settled reads: a finalizer freeing an earlier test's garbage between the two reads would hide the growth.
    const before = await settledAllocated(device);
    const cache = model.createCache(2);
    const withCache = await settledAllocated(device);
    assert.ok(withCache - before >= cache.bytes, `the cache's ${cache.bytes} bytes are allocated up front (grew ${withCache - before})`);
    model.forwardCached(ids([[1, 2, 3], [4, 5, 6]], device), cache, { last: true }).dispose();
    const samples: number[] = [];
    for (let t = 0; t < 50; t++) {
      const logits = scope(() => model.forwardCached(ids([[t % 13], [(t * 5) % 13]], device), cache, { last: true }));
      await logits.toArray();
      logits.dispose();
      synchronize(device);
      samples.push(memory(device).allocated);
    }
    // Growing buffers would add 2 layers x k,v x 2 rows x 24 floats = 768 bytes per token (38 KB over
    // 50 steps). The count may drop (finalizers freeing earlier tests' tensors), but never climbs
    // above its first value by more than one 512-byte allocator class.
    const climb = Math.max(...samples.map((a, i) => a - Math.min(...samples.slice(0, i + 1))));
    assert.ok(climb <= 512, `allocated bytes climb by ${climb} over 50 steps: ${samples.join(', ')}`);
    assert.ok(samples[49] - withCache <= 512, `nothing outlives a step (${samples[49] - withCache} bytes more than after createCache)`);
    cache.dispose();
    const after = await settledAllocated(device);
    assert.ok(after - before < 2048, `dispose frees the buffers (${after - before} bytes left)`);
    model.dispose();
  });

  test('bad input', async () => {
    const { model } = randomModel({ ...BASE, blockSize: 16 }, rng(), device);
    await assertThrows(() => model.createCache(0), 'GPT.createCache', 'batchSize');
    await assertThrows(() => model.createCache(1, 17), 'GPT.createCache', 'maxLength', '[1, 16]');
    const cache = model.createCache(2, 8);
    await assertThrows(() => model.forwardCached(ids([[1]], device), cache), 'GPT.forwardCached', '2 rows');
    await assertThrows(() => model.forwardCached(ids([[1], [2]], device), {} as KVCache), 'cache', 'KVCache');
    await assertThrows(() => model.forwardCached(ids([[1, 2], [2, 3]], device), cache, { counts: [1, 3] }), 'opts.counts[1]', '[1, 2]');
    await assertThrows(() => model.forwardCached(ids([[1], [2]], device), cache, { bogus: 1 } as never), 'opts.bogus');
    await assertThrows(() => model.forwardCached(ids([new Array(9).fill(1), new Array(9).fill(1)], device), cache), 'at most 8 new tokens');
    assert.equal(cache.lengths, [0, 0], 'a rejected call changes nothing');
    await assertThrows(() => cache.truncate(1, 0), 'KVCache.truncate', '[0, 0]');
    cache.dispose();
    await assertThrows(() => model.forwardCached(ids([[1], [2]], device), cache), 'disposed');
    model.dispose();
  });
});

deviceSuites('KV cache write (native cacheWrite)', (test, device) => {
  test('rows of their own start and count land at their place; everything else is kept (f32, bf16)', async () => {
    const r = rng();
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const [B, H, L, T, D] of [[1, 1, 1, 1, 1], [3, 5, 17, 4, 7], [2, 12, 70, 1, 64], [5, 2, 9, 9, 33], [70, 1, 3, 2, 3]]) {
        const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
        const before = prep(r.normals(B * H * L * D));
        const src = prep(r.normals(B * H * T * D));
        const count = Array.from({ length: B }, () => r.int(0, T + 1));
        const start = count.map((c) => r.int(0, L - c + 1));
        const dst = Tensor.from(before, [B, H, L, D], { dtype, device });
        const s = Tensor.from(src, [B, H, T, D], { dtype, device });
        writeCache(dst, s, start, count);
        const want = Float32Array.from(before);
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++)
            for (let t = 0; t < count[b]; t++)
              for (let d = 0; d < D; d++) want[((b * H + h) * L + start[b] + t) * D + d] = src[((b * H + h) * T + t) * D + d];
        assert.equal(Array.from(await dst.toArray()), Array.from(want), `${dtype} [${B}, ${H}, ${L}, ${T}, ${D}] start ${start} count ${count}`);
        dst.dispose();
        s.dispose();
      }
    }
  });

  test('bad input names the argument', async () => {
    const dst = Tensor.zeros([2, 3, 8, 4], { device });
    const src = Tensor.zeros([2, 3, 2, 4], { device });
    await assertThrows(() => writeCache(dst, src, [0, 7], [1, 2]), 'cacheWrite', "argument 'start'", 'row 1', '[7, 9)', '[0, 8)');
    await assertThrows(() => writeCache(dst, src, [0, 0], [3, 0]), 'cacheWrite', "argument 'count'", '[0, 2]');
    await assertThrows(() => writeCache(dst, src, [0], [1]), 'cacheWrite', "argument 'start'", 'expected 2 values');
    await assertThrows(() => writeCache(dst, src, [0, -1], [1, 1]), 'cacheWrite', "argument 'start'", '[0, 2^31)');
    await assertThrows(() => writeCache(dst, Tensor.zeros([2, 2, 2, 4], { device }), [0, 0], [1, 1]), 'cacheWrite', "argument 'src'", '[2, 3, T, 4]');
    await assertThrows(() => writeCache(dst, Tensor.zeros([2, 3, 2, 4], { dtype: 'bf16', device }), [0, 0], [1, 1]), 'cacheWrite', "argument 'src'");
    await assertThrows(() => writeCache(dst, dst, [0, 0], [1, 1]), 'cacheWrite');
    assert.equal(Array.from(await dst.toArray()), new Array(2 * 3 * 8 * 4).fill(0), 'a rejected write changes nothing');
    dst.dispose();
    src.dispose();
  });
});
