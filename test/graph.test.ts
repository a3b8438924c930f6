/**
 * Op graphs (lib/graph.ts) and the decoding step built on them (lib/generate/stepGraph.ts): a replay
 * recomputes the captured ops on freshly uploaded inputs (float64 reference, outputs poisoned, the
 * intermediates' JS handles disposed and their memory tempted with other allocations); host data,
 * reads, uploads and nested captures are refused while capturing; upload's checks; the cache write
 * at device positions against a plain loop, and its deferred error; replayed decode steps equal the
 * eager forwardCached steps (rows of different lengths, a row emptied and prefilled again, learned
 * sinusoidal and rotary positions, a bf16 cache) and the full recompute; a CastCache; generation is
 * identical with and without the graph; full caches.
 */
import * as assert from 'uvu/assert';

import { generateBatch } from '../lib/generate';
import { DecodeStepGraph, stepGraphEnabled } from '../lib/generate/stepGraph';
import { OpGraph, upload } from '../lib/graph';
import { noGrad, scope, Tensor } from '../lib/index';
import { GPT, GPTConfig } from '../lib/models/gpt';
import { CastCache } from '../lib/nn/context';
import { writeCacheAt } from '../lib/nn/kvCache';
import { add } from '../lib/ops/elementwise';
import { matmul } from '../lib/ops/matmul';
import { CharTokenizer } from '../lib/tokenizer';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, Rng, roundBf16 } from './helpers/random';
import { addRef } from './reference/elementwise';
import { matmulRef } from './reference/matmul';

deviceSuites('op graphs', (test, device) => {
  test('a replay recomputes the captured ops on the inputs uploaded before it (float64 reference)', async () => {
    const r = rng();
    const M = 5, K = 19, N = 13;
    const w = r.normals(K * N), bias = r.normals(N);
    const wT = Tensor.from(w, [K, N], { device }), bT = Tensor.from(bias, [N], { device });
    const x = Tensor.empty([M, K], { device }), resid = Tensor.empty([M, N], { device });
    const inputs = () => ({ x: r.normals(M * K), resid: r.normals(M * N) });
    const expected = (i: { x: Float32Array; resid: Float32Array }) =>
      addRef(matmulRef(i.x, w, { batch: 1, M, K, N }, { bias }).out, i.resid);
    let first = inputs();
    upload(x, first.x);
    upload(resid, first.resid);
    const { graph, result: out } = OpGraph.capture(device, () => {
      const h = matmul(x, wT, { bias: bT });
      const y = add(h, resid);
      h.dispose();  // the graph keeps h's buffer: a replay must not write memory handed out again
      return y;
    });
    assert.ok(graph.opCount >= 2, `recorded ${graph.opCount} ops`);
    assertClose(await out.toArray(), expected(first), 1e-5, 'the captured run itself');
    for (let replay = 0; replay < 3; replay++) {
      // Allocations of h's size between replays: were h's block free, one of these would get it.
      const decoys = [0, 1, 2].map(() => Tensor.full([M, N], 7, { device }));
      first = inputs();
      upload(x, first.x);
      upload(resid, first.resid);
      graph.replay();
      assertClose(await out.toArray(), expected(first), 1e-5, `replay ${replay}`);
      assertClose(await decoys[1].toArray(), new Float32Array(M * N).fill(7), 0, `replay ${replay} leaves other tensors alone`);
      decoys.forEach((d) => d.dispose());
    }
    graph.dispose();
    assert.ok(graph.disposed && graph.opCount === 0);
    await assertThrows(() => graph.replay(), 'OpGraph.replay', 'disposed');
    graph.dispose();  // idempotent
    for (const t of [wT, bT, x, resid, out]) t.dispose();
  });

  test('host data, reads, uploads and nested captures are refused while capturing; a failed capture is closed', async () => {
    const t = Tensor.zeros([4], { device });
    await assertThrows(() => OpGraph.capture(device, () => Tensor.from(new Float32Array(4), [4], { device })), 'from', 'captured');
    await assertThrows(() => OpGraph.capture(device, () => upload(t, new Float32Array(4))), 'upload', 'captured');
    await assertThrows(() => OpGraph.capture(device, () => t.toArraySync()), 'read', 'captured');
    await assertThrows(() => OpGraph.capture(device, () => OpGraph.capture(device, () => 0)), 'graphBegin', 'already open');
    // Each failure closed its capture: a new one opens, and host data is accepted again outside it.
    const { graph, result } = OpGraph.capture(device, () => add(t, t));
    assert.is(graph.opCount, 1);
    Tensor.from(new Float32Array(4), [4], { device }).dispose();
    graph.dispose();
    result.dispose();
    t.dispose();
  });

  test('upload checks its arguments', async () => {
    const f = Tensor.zeros([2, 3], { device }), i = Tensor.zeros([3], { dtype: 'i32', device });
    await assertThrows(() => upload(f, new Float32Array(5)), 'upload', "'data'", '6 elements', '5');
    await assertThrows(() => upload(f, new Int32Array(6)), 'upload', "'data'", 'Float32Array');
    await assertThrows(() => upload(i, new Float32Array(3)), 'upload', "'data'", 'Int32Array');
    upload(i, Int32Array.from([4, -5, 6]));
    assert.equal(Array.from(await i.toArray()), [4, -5, 6]);
    f.dispose();
    await assertThrows(() => upload(f, new Float32Array(6)), 'upload', "'dst'", 'live');
    i.dispose();
  });
});

deviceSuites('KV cache write at device positions (native cacheWriteAt)', (test, device) => {
  test('row b lands at positions[b]..+T, everything else is kept (f32, bf16)', async () => {
    const r = rng();
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const [B, H, L, T, D] of [[1, 1, 1, 1, 1], [3, 5, 17, 1, 7], [2, 12, 70, 3, 64], [70, 1, 3, 2, 3]]) {
        const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
        const before = prep(r.normals(B * H * L * D)), src = prep(r.normals(B * H * T * D));
        const start = Array.from({ length: B }, () => r.int(0, L - T + 1));
        const dst = Tensor.from(before, [B, H, L, D], { dtype, device });
        const s = Tensor.from(src, [B, H, T, D], { dtype, device });
        const pos = Tensor.from(Int32Array.from(start), [B], { dtype: 'i32', device });
        writeCacheAt(dst, s, pos);
        const want = Float32Array.from(before);
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++)
            for (let t = 0; t < T; t++)
              for (let d = 0; d < D; d++) want[((b * H + h) * L + start[b] + t) * D + d] = src[((b * H + h) * T + t) * D + d];
        assert.equal(Array.from(await dst.toArray()), Array.from(want), `${dtype} [${B}, ${H}, ${L}, ${T}, ${D}] at ${start}`);
        for (const x of [dst, s, pos]) x.dispose();
      }
    }
  });

  test('positions that do not fit are a deferred error naming the row; the cache is not written', async () => {
    const before = rng().normals(2 * 4 * 3);
    const dst = Tensor.from(before, [1, 2, 4, 3], { device });
    const src = Tensor.zeros([1, 2, 2, 3], { device });
    for (const bad of [3, -1]) {
      const pos = Tensor.from(Int32Array.from([bad]), [1], { dtype: 'i32', device });
      writeCacheAt(dst, src, pos);  // checked when it runs: the positions are device data
      await assertThrows(() => dst.toArray(), 'cacheWrite', 'row 0', `${bad}`);
      assert.equal(Array.from(await dst.toArray()), Array.from(before), `positions ${bad}: nothing written`);
      pos.dispose();
    }
    await assertThrows(() => writeCacheAt(dst, src, Tensor.zeros([2], { dtype: 'i32', device })), 'cacheWrite', "'positions'", '[1]');
    await assertThrows(() => writeCacheAt(dst, src, Tensor.zeros([1], { device })), 'cacheWrite', "'positions'", 'i32');
    await assertThrows(() => writeCacheAt(dst, Tensor.zeros([1, 3, 2, 3], { device }), Tensor.zeros([1], { dtype: 'i32', device })), 'cacheWrite', "'src'");
    dst.dispose();
    src.dispose();
  });
});

const BASE: GPTConfig = { vocabSize: 13, nLayer: 2, nHead: 3, nEmbd: 24, blockSize: 40, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000 };

function randomModel(cfg: GPTConfig, r: Rng, device: string): GPT {
  const model = new GPT(cfg, { seed: r.int(0, 1000), device });
  scope(() => model.loadStateDict(Object.fromEntries(model.specs.map((s) =>
    [s.name, Tensor.from(r.normals(s.shape.reduce((a, b) => a * b, 1), 0.5), s.shape, { device })]))));
  return model;
}

const idsOf = (rows: number[][], device: string) => Tensor.from(Int32Array.from(rows.flat()), [rows.length, rows[0].length], { dtype: 'i32', device });

deviceSuites('decode step graph', (test, device) => {
  for (const positional of ['learned', 'sinusoidal', 'rope'] as const) {
    test(`${positional}: replayed steps equal eager steps and the full recompute, through a row emptied and prefilled again`, async () => {
      const cfg = { ...BASE, positional };
      const r = rng();
      const model = randomModel(cfg, r, device);
      const lens = [4, 9, 1];
      const seqs = lens.map((n) => Array.from(r.ints(n, 0, cfg.vocabSize)));
      const T = Math.max(...lens);
      const padded = seqs.map((s) => [...s, ...new Array<number>(T - s.length).fill(0)]);
      const eager = model.createCache(3), cached = model.createCache(3);
      for (const c of [eager, cached]) model.forwardCached(idsOf(padded, device), c, { counts: lens, last: true }).dispose();
      const graph = new DecodeStepGraph(model, cached);
      for (let step = 0; step < 14; step++) {
        if (step === 6) {
          // Row 1 starts over with a new prompt, prefilled eagerly into both caches.
          seqs[1] = Array.from(r.ints(5, 0, cfg.vocabSize));
          for (const c of [eager, cached]) {
            c.truncate(0, 1);
            const sub = c.rows(1, 1);
            model.forwardCached(idsOf([seqs[1]], device), sub, { last: true }).dispose();
            sub.dispose();
          }
        }
        const next = seqs.map(() => r.int(0, cfg.vocabSize));
        seqs.forEach((s, b) => s.push(next[b]));
        const want = scope(() => model.forwardCached(idsOf(next.map((t) => [t]), device), eager, { last: true }));
        const got = graph.step(Int32Array.from(next));
        assert.equal(got.shape, [3, cfg.vocabSize]);
        assert.equal(cached.lengths, eager.lengths, `step ${step}: lengths`);
        assertClose(await got.toArray(), await want.toArray(), 1e-5, `${positional} step ${step}: graph vs eager`);
        want.dispose();
      }
      const last = await graph.step(Int32Array.from([1, 2, 3])).toArray();
      seqs.forEach((s, b) => s.push([1, 2, 3][b]));
      const fullNext = scope(() => noGrad(() => model.logitsLast(idsOf([seqs[1]], device))));
      assertClose(last.subarray(cfg.vocabSize, 2 * cfg.vocabSize), await fullNext.toArray(), 1e-4, `${positional}: row 1 vs full recompute`);
      fullNext.dispose();
      graph.dispose();
      eager.dispose();
      cached.dispose();
      model.dispose();
    });
  }

  test('bf16 cache under autocast: replayed steps equal eager bf16 steps', async () => {
    const r = rng();
    const model = randomModel(BASE, r, device);
    const eager = model.createCache(2, 20, { autocast: 'bf16' }), cached = model.createCache(2, 20, { autocast: 'bf16' });
    const prompt = [Array.from(r.ints(3, 0, 13)), Array.from(r.ints(3, 0, 13))];
    for (const c of [eager, cached]) model.forwardCached(idsOf(prompt, device), c, { last: true, autocast: 'bf16' }).dispose();
    const graph = new DecodeStepGraph(model, cached, 'bf16');
    for (let step = 0; step < 5; step++) {
      const next = [r.int(0, 13), r.int(0, 13)];
      const want = scope(() => model.forwardCached(idsOf(next.map((t) => [t]), device), eager, { last: true, autocast: 'bf16' }));
      const got = graph.step(Int32Array.from(next));
      assert.is(got.dtype, 'bf16');
      assertClose(await got.toArray(), await want.toArray(), 1e-6, `bf16 step ${step}`);
      want.dispose();
    }
    graph.dispose();
    eager.dispose();
    cached.dispose();
    model.dispose();
  });

  test('generation gives the same text with and without the graph (GLM_DECODE_GRAPH=0), greedy and sampled', async () => {
    const tok = CharTokenizer.fromCorpus('abcdefghij klmnop.\n');
    const r = rng();
    const model = randomModel({ ...BASE, vocabSize: tok.vocabSize, blockSize: 24 }, r, device);
    const prompts = ['abc', 'hello kid.', 'j'];
    const run = async (graphOn: boolean, opts: object) => {
      const saved = process.env.GLM_DECODE_GRAPH;
      process.env.GLM_DECODE_GRAPH = graphOn ? '1' : '0';
      try {
        assert.is(stepGraphEnabled(), graphOn);
        return await generateBatch(model, tok, prompts, { maxTokens: 40, ...opts });
      } finally {
        if (saved === undefined) delete process.env.GLM_DECODE_GRAPH;
        else process.env.GLM_DECODE_GRAPH = saved;
      }
    };
    // 40 tokens from prompts of up to 10 in a 24-token block: every row slides (a restart prefill) on the way.
    for (const opts of [{ temperature: 0 }, { temperature: 0.9, topK: 5, seed: 3, repetitionPenalty: 1.3 }, { temperature: 0, autocast: 'bf16' }]) {
      const a = await run(true, opts), b = await run(false, opts);
      assert.equal(a, b, `same output for ${JSON.stringify(opts)}`);
    }
    model.dispose();
  });

  test('a CastCache: bf16 passes read its copies (the same logits as casting per pass, no cast recorded per step, copies kept)', async () => {
    const r = rng();
    const model = randomModel(BASE, r, device);
    const casts = new CastCache(model.parameters());
    const prompt = [Array.from(r.ints(4, 0, 13)), Array.from(r.ints(4, 0, 13))];
    const caches = [0, 1, 2, 3].map(() => model.createCache(2, 16, { autocast: 'bf16' }));
    const [plain, cached] = await Promise.all([undefined, casts].map(async (c, i) => {
      const l = model.forwardCached(idsOf(prompt, device), caches[i], { last: true, autocast: 'bf16', ...(c ? { casts: c } : {}) });
      const out = await l.toArray();
      l.dispose();
      return out;
    }));
    assert.equal(Array.from(cached), Array.from(plain), 'prefill logits with the copies = with casts in the pass');
    for (const c of caches.slice(2)) model.forwardCached(idsOf(prompt, device), c, { last: true, autocast: 'bf16' }).dispose();
    const perStep = new DecodeStepGraph(model, caches[2], 'bf16');
    const withCopies = new DecodeStepGraph(model, caches[3], 'bf16', casts);
    for (let step = 0; step < 3; step++) {
      const next = Int32Array.from([r.int(0, 13), r.int(0, 13)]);
      const a = await perStep.step(next).toArray(), b = await withCopies.step(next).toArray();
      assert.equal(Array.from(b), Array.from(a), `step ${step}`);
    }
    // One cast per linear weight and bias and one for the tied head, recorded only without the copies.
    const casted = model.parameters().filter((p) => p.rank === 2 && p !== model.wpe?.weight).length + model.h.length * 4;
    assert.is(perStep.opCount - withCopies.opCount, casted, `ops per step: ${perStep.opCount} with casts, ${withCopies.opCount} with the copies`);
    assert.ok(!casts.get(model.h[0].attn.c_attn.weight)!.disposed, 'the passes leave the copies alone');
    const f32Cache = model.createCache(2, 4);
    await assertThrows(() => model.forwardCached(idsOf([[1], [2]], device), f32Cache, { casts }), 'opts.casts', 'none', 'one of bf16');
    f32Cache.dispose();
    await assertThrows(() => model.forwardCached(idsOf([[1], [2]], device), caches[0], { autocast: 'bf16', casts: {} as never }), 'opts.casts', 'CastCache');
    for (const x of [perStep, withCopies, ...caches]) x.dispose();
    casts.dispose();
    assert.ok(casts.get(model.h[0].attn.c_attn.weight) === undefined);
    await assertThrows(() => new CastCache(5 as never), 'CastCache', "'params'", 'iterable');
    await assertThrows(() => new CastCache([model.wte.weight, {} as never]), 'CastCache', "'params[1]'", 'live Tensor');
    await assertThrows(() => new CastCache([], 'f16' as never), 'CastCache', "'dtype'", 'bf16');
    model.dispose();
  });

  test('a full cache is refused before anything runs', async () => {
    const r = rng();
    const model = randomModel(BASE, r, device);
    const cache = model.createCache(2, 4);
    model.forwardCached(idsOf([[1, 2, 3], [4, 5, 6]], device), cache, { last: true }).dispose();
    const graph = new DecodeStepGraph(model, cache);
    graph.step(Int32Array.from([1, 2]));
    assert.equal(cache.lengths, [4, 4]);
    await assertThrows(() => graph.step(Int32Array.from([1, 2])), 'DecodeStepGraph.step', 'room in row 0', '4 of 4');
    await assertThrows(() => graph.step(Int32Array.from([1])), 'DecodeStepGraph.step', "'ids'", '2 token ids');
    assert.equal(cache.lengths, [4, 4], 'a refused step changes nothing');
    graph.dispose();
    cache.dispose();
    model.dispose();
  });
});
