/** Tensors: creation, reading, dtypes, views, devices, disposal, scopes, memory, the stream. */
import * as assert from 'uvu/assert';

import * as glm from '../lib/index';
import { ops, scope, Tensor } from '../lib/index';
import { native } from '../lib/native';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16 } from './helpers/random';

deviceSuites('tensor', (test, device) => {
  test('from/toArray round trip for f32, i32 and bf16 (round to nearest even)', async () => {
    const r = rng();
    for (const n of [1, 7, 65, 1000]) {
      const f = r.normals(n, 3);
      const t = Tensor.from(f, [n], { device });
      assert.equal(t.shape, [n]);
      assert.is(t.dtype, 'f32');
      assert.is(t.device, device);
      assert.equal(Array.from(await t.toArray()), Array.from(f));
      const ints = r.ints(n, -1000000, 1000000);
      assert.equal(Array.from(await Tensor.from(ints, [n], { device }).toArray()), Array.from(ints));
      const b = Tensor.from(f, [n], { dtype: 'bf16', device });
      assert.equal(Array.from(await b.toArray()), Array.from(roundBf16(f)));
    }
    // Ties round to even: 1 + 2^-8 lies halfway between two bf16 values.
    const tie = Tensor.from([1 + 2 ** -8, 1 + 3 * 2 ** -8], [2], { dtype: 'bf16', device });
    assert.equal(Array.from(await tie.toArray()), [1, 1 + 2 ** -6]);
    assert.is(await Tensor.from(2.5, undefined, { device }).item(), 2.5);
    assert.equal(Tensor.from(2.5, undefined, { device }).shape, []);
  });

  test('zeros, ones, full, and sync reads agree with async reads', async () => {
    const z = Tensor.zeros([3, 5], { device });
    assert.equal(Array.from(await z.toArray()), new Array(15).fill(0));
    const o = Tensor.ones([4], { dtype: 'bf16', device });
    assert.equal(Array.from(o.toArraySync()), [1, 1, 1, 1]);
    const f = Tensor.full([2, 2], -7, { dtype: 'i32', device });
    assert.equal(Array.from(await f.toArray()), [-7, -7, -7, -7]);
    assert.ok(f.toArraySync() instanceof Int32Array);
  });

  test('reshape and select are views; their gradients flow back', async () => {
    const r = rng();
    const v = r.normals(24);
    const x = Tensor.from(v, [2, 3, 4], { device, requiresGrad: true });
    const y = x.reshape([6, -1]);
    assert.equal(y.shape, [6, 4]);
    assertClose(await y.toArray(), v, 0, 'reshape keeps the data');
    const s = x.select(1);
    assert.equal(s.shape, [3, 4]);
    assertClose(await s.toArray(), v.slice(12), 0, 'select(1) is the second half');
    const w = r.normals(12);
    ops.sum(ops.mul(s, Tensor.from(w, [3, 4], { device }))).backward();
    const expected = new Float32Array(24);
    expected.set(w, 12);
    assertClose(await x.grad!.toArray(), expected, 0, 'select gradient scatters into zeros');
    await assertThrows(() => x.reshape([5, 5]), 'reshape', "'shape'", '24 elements', '[5,5]');
    await assertThrows(() => x.select(2), 'select', "'index'", '[0, 2)', '2');
  });

  test('gradients of several selects of one tensor add up in its gradient (intermediate and leaf, partial, repeated)', async () => {
    // backward() adds a select's gradient straight into its run of the base's gradient; every
    // element outside the runs that got one must still come out zero (memory is poisoned in tests).
    const r = rng();
    const [S, R, C] = [4, 3, 5];
    const inner = R * C;
    const v = r.normals(S * inner);
    const weights = [0, 1, 3, 1].map(() => r.normals(inner));
    // y = sum_i sum(w_i * base.select(idx_i)); indices repeat (1) and skip (2).
    const picks = [0, 1, 3, 1];
    const expected = new Float64Array(S * inner);
    picks.forEach((p, i) => weights[i].forEach((w, e) => { expected[p * inner + e] += w; }));
    const lossOf = (base: Tensor) => {
      let acc: Tensor | null = null;
      picks.forEach((p, i) => {
        const term = ops.sum(ops.mul(base.select(p), Tensor.from(weights[i], [R, C], { device })));
        acc = acc ? ops.add(acc, term) : term;
      });
      return acc!;
    };
    // Leaf base, two backward passes: the second adds into the existing gradient.
    const leaf = Tensor.from(v, [S, R, C], { device, requiresGrad: true });
    lossOf(leaf).backward();
    assertClose(await leaf.grad!.toArray(), expected, 1e-6, 'leaf: summed slot gradients, zeros elsewhere');
    lossOf(leaf).backward();
    assertClose(await leaf.grad!.toArray(), expected.map((e) => 2 * e), 1e-6, 'leaf: a second backward accumulates');
    // Intermediate base (x * 3): the slots gather into one gradient, then flow on through mul.
    const x = Tensor.from(v, [S, R, C], { device, requiresGrad: true });
    lossOf(ops.scale(x, 3)).backward();
    assertClose(await x.grad!.toArray(), expected.map((e) => 3 * e), 1e-6, 'intermediate: slot gradients, then the chain rule');
    // One select only: the rest of the gradient is zero, not poison.
    const y = Tensor.from(v, [S, R, C], { device, requiresGrad: true });
    ops.sum(ops.scale(y, 2).select(2)).backward();
    const one = new Float64Array(S * inner);
    one.fill(2, 2 * inner, 3 * inner);
    assertClose(await y.grad!.toArray(), one, 0, 'a single select: zeros outside its run');
  });

  test('cast between dtypes, with gradient', async () => {
    const x = Tensor.from([1.5, -2.25, 3.0078125], [3], { device, requiresGrad: true });
    const b = x.cast('bf16');
    assert.is(b.dtype, 'bf16');
    assert.equal(Array.from(await b.toArray()), [1.5, -2.25, 3]);
    assert.equal(Array.from(await x.cast('i32').toArray()), [1, -2, 3]);
    ops.sum(ops.scale(b, 2)).backward();
    assert.equal(Array.from(await x.grad!.toArray()), [2, 2, 2]);
  });

  test('use after dispose is a clear error; views keep memory alive', async () => {
    const x = Tensor.from([1, 2, 3, 4], [4], { device });
    const v = x.reshape([2, 2]);
    x.dispose();
    x.dispose();  // idempotent
    assert.ok(x.disposed);
    await assertThrows(() => x.toArray(), 'disposed', 'f32[4]');
    await assertThrows(() => ops.scale(x, 2), 'scale', "'a'", 'disposed');
    assert.equal(Array.from(await v.toArray()), [1, 2, 3, 4]);
  });

  test('scope frees what it created except what it returns, also across await', async () => {
    const before = glm.memory(device).allocated;
    const kept = scope(() => {
      const a = Tensor.ones([1000], { device });
      const b = ops.scale(a, 3);
      return ops.add(a, b);
    });
    glm.synchronize(device);
    assert.ok(!kept.disposed);
    assert.is(glm.memory(device).allocated - before, 4096, 'only the returned tensor stays');
    const fromAsync = await scope(async () => {
      const a = Tensor.ones([1000], { device });
      await new Promise((r) => setTimeout(r, 1));
      const b = ops.scale(a, 2);
      return { b, value: await b.item().catch(() => -1) };
    });
    assert.ok(!fromAsync.b.disposed);
    kept.dispose();
    fromAsync.b.dispose();
    glm.synchronize(device);
    assert.is(glm.memory(device).allocated, before);
  });

  test('the caching allocator reuses blocks and reports allocated/reserved', () => {
    glm.synchronize(device);
    const m0 = glm.memory(device);
    assert.ok(m0.reserved >= m0.allocated);
    for (let i = 0; i < 5; i++) Tensor.empty([12345], { device }).dispose();
    const m1 = glm.memory(device);
    assert.is(m1.allocated, m0.allocated);
    assert.ok(m1.systemAllocCount - m0.systemAllocCount <= 1, 'at most one system allocation for five same-size tensors');
  });

  test('a request takes a cached block up to a quarter larger than its size class, not a larger one', () => {
    glm.synchronize(device);
    glm.emptyCache(device);  // only this test's blocks are cached from here on
    const sys = () => glm.memory(device).systemAllocCount;
    const s0 = sys();
    Tensor.empty([120000], { device }).dispose();  // 480,000 bytes: a new block of that class
    assert.is(sys() - s0, 1);
    const a0 = glm.memory(device).allocated;
    const fits = Tensor.empty([100000], { device });  // class 400,384: the 480,256-byte block is <= 1.25x
    assert.is(sys() - s0, 1, 'a slightly smaller request reuses the cached block');
    assert.is(glm.memory(device).allocated - a0, 480256, 'and counts as the whole block it holds');
    fits.dispose();
    Tensor.empty([90000], { device }).dispose();  // class 360,448: 480,000 is more than 1.25x
    assert.is(sys() - s0, 2, 'a block over a quarter larger is left for requests it fits');
  });

  test('bad arguments name the op, the argument, expected and actual', async () => {
    await assertThrows(() => Tensor.from([1, 2, 3], [2, 2], { device }), 'Tensor.from', "'data'", '4 elements', '3');
    await assertThrows(() => Tensor.from([1], [1], { dtype: 'f64' as never, device }), "'dtype'", '"f64"');
    await assertThrows(() => Tensor.from([1.5], [1], { dtype: 'i32', device }), "'data'", 'integers', '1.5');
    await assertThrows(() => Tensor.zeros([2, -1], { device }), 'Tensor.empty', "'shape'", 'non-negative');
    await assertThrows(() => Tensor.zeros([2], { device: 'gpu' }), "'device'", '"gpu"');
    await assertThrows(() => Tensor.from('abc' as never), "'data'", '"abc"');
    await assertThrows(() => ops.sum(ops.scale(Tensor.ones([2], { device }), 1)).backward(), 'backward', 'does not require grad');
    const x = Tensor.ones([2], { device, requiresGrad: true });
    await assertThrows(() => ops.scale(x, 2).backward(), 'backward', 'scalar', '[2]');
  });
});

deviceSuites('stream', (test, device) => {
  test('ops return at once and reads resolve in order without blocking the event loop', async () => {
    const n = 1 << 22;
    let x = Tensor.ones([n], { device });
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      const y = ops.scale(x, 1.0001);
      x.dispose();
      x = y;
    }
    const enqueueMs = Date.now() - t0;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const value = (await x.toArray())[n - 1];
    clearInterval(timer);
    assertClose([value], [1.0001 ** 100], 1e-5, 'the result of 100 queued ops');
    assert.ok(ticks >= 2, `the event loop kept running while the device worked (${ticks} ticks, enqueue ${enqueueMs} ms)`);
    x.dispose();
  });

  test('a small op never overtakes queued work (the CPU runs small ops inline only when idle)', async () => {
    // A product of ones that takes a few ms, then a small op on its last row: run before or during
    // the product, the small op would read NaN (new blocks are NaN-filled) or partial sums.
    const a = Tensor.ones([512, 512], { device }), b = Tensor.ones([512, 512], { device });
    glm.synchronize(device);
    native().setPoison(device, true);
    try {
      for (let round = 0; round < 3; round++) {
        const small = ops.scale(ops.matmul(a, b).select(511), 3);  // ~1 us of work: inline if idle
        assertClose(small.toArraySync(), new Float64Array(512).fill(512 * 3), 0, `round ${round}`);
      }
    } finally {
      native().setPoison(device, false);
    }
  });

  test('an error of a small op is deferred to the next read, and later work is skipped until then', async () => {
    const x = Tensor.from(rng().normals(4 * 5), [4, 5], { device });
    glm.synchronize(device);  // an idle stream: the next small ops may run inline
    const loss = ops.softmaxCrossEntropy(x, Tensor.from(new Int32Array([0, 9, 2, 3]), [4], { device }));  // returns
    const y = ops.add(Tensor.ones([4], { device }), Tensor.ones([4], { device }));  // skipped: after a failed op
    await assertThrows(() => y.toArray(), 'softmaxCrossEntropy', 'row 1', 'got 9');
    loss.dispose();  // its value is garbage: the error was reported (once) by the read above
    const z = ops.add(Tensor.ones([4], { device }), Tensor.ones([4], { device }));
    assertClose(await z.toArray(), [2, 2, 2, 2], 0, 'the stream works again after the error was reported');
  });

  test('native errors surface as JS errors naming the op, never a crash', async () => {
    const x = Tensor.ones([4], { device });
    await assertThrows(() => native().view(x.handle, [5], 0), 'view', 'does not fit');
    await assertThrows(() => native().add(x.handle, x.handle, {} as never, 1), 'add', "'b'", 'expected a tensor');
    await assertThrows(() => native().fromData(new Float64Array(4) as never, [4], 'f32', device), 'from', 'expected a Float32Array');
  });
});

import { suite } from 'uvu';
const info = suite('devices and build');
info('devices() lists the cpu first; memory() rejects unknown devices', async () => {
  const list = glm.devices();
  assert.is(list[0].name, 'cpu');
  assert.ok(list[0].threads! >= 1);
  const b = glm.buildInfo();
  assert.is(list.length - 1, b.cudaDevices);
  await assertThrows(() => glm.memory('tpu'), 'memory', "'device'", '"tpu"');
});
info('asking for CUDA without a usable GPU is a clear error', async () => {
  if (glm.cudaAvailable()) return;
  await assertThrows(() => Tensor.zeros([2], { device: 'cuda' }), /no CUDA device|built without CUDA/);
});
info.run();
