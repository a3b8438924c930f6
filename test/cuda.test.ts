/**
 * CUDA-specific behaviour: asking for a GPU where there is none (every machine), and, with a GPU,
 * copies between host and device for every dtype, stream order across devices, memory statistics,
 * NaN-poisoning of new allocations, and deferred device-side errors surfacing at the next read.
 * Kernel values are checked by each op family's own device-generic tests.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import * as glm from '../lib/index';
import { native } from '../lib/native';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16 } from './helpers/random';

const { Tensor, ops } = glm;
const info = glm.buildInfo();

const everywhere = suite('cuda availability');

everywhere('buildInfo and devices agree on the number of GPUs', () => {
  assert.type(info.cuda, 'boolean');
  const gpus = glm.devices().filter((d) => d.type === 'cuda');
  assert.is(gpus.length, info.cudaDevices);
  assert.is(glm.cudaAvailable(), info.cudaDevices > 0);
  if (info.cudaDevices === 0) assert.ok(info.cudaUnavailableReason.length > 0, 'a reason is given when there is no GPU');
  else assert.is(info.cudaUnavailableReason, '');
});

everywhere('asking for a GPU that is not there throws an error naming the op and the reason', async () => {
  if (info.cudaDevices === 0) {
    const why = info.cuda ? 'no CUDA device' : 'built without CUDA';
    await assertThrows(() => Tensor.zeros([2], { device: 'cuda' }), 'empty', why);
    await assertThrows(() => Tensor.from([1, 2, 3], [3], { device: 'cuda:0' }), 'from', why);
    await assertThrows(() => Tensor.ones([2]).to('cuda'), why);
    await assertThrows(() => glm.memory('cuda'), 'memory', why);
  } else {
    const missing = `cuda:${info.cudaDevices}`;
    await assertThrows(() => Tensor.zeros([2], { device: missing }), 'empty', `${missing} does not exist`);
  }
});

everywhere.run();

deviceSuites('cuda runtime', (test, device) => {
  if (device === 'cpu') return;

  test('cpu -> cuda -> cpu round trips keep every bit, for every dtype and awkward size', async () => {
    const r = rng();
    for (const n of [1, 7, 65, 4099, 100003]) {
      const f = r.normals(n);
      const a = Tensor.from(f, [n], { device });
      assert.equal(await a.toArray(), f, `f32 n=${n}`);
      assert.equal(a.to('cpu').toArraySync(), f, `f32 via to('cpu') n=${n}`);
      const b = Tensor.from(f, [n], { dtype: 'bf16', device });
      assert.equal(await b.toArray(), roundBf16(f), `bf16 n=${n}`);
      const ints = r.ints(n, -(2 ** 31), 2 ** 31 - 1);
      const c = Tensor.from(ints, [n], { device });
      assert.equal(await c.toArray(), ints, `i32 n=${n}`);
      // Through a CPU tensor and back.
      assert.equal(await Tensor.from(f, [n]).to(device).to('cpu').toArray(), f, `f32 cpu->cuda->cpu n=${n}`);
    }
  });

  test('views at odd offsets copy to and from the GPU', async () => {
    const r = rng();
    const v = r.normals(5 * 7);
    const x = Tensor.from(v, [5, 7], { dtype: 'bf16', device });
    const row = x.select(3);
    assert.equal(await row.toArray(), roundBf16(v.slice(21, 28)));
    const onCpu = row.to('cpu');
    assert.equal(await onCpu.toArray(), roundBf16(v.slice(21, 28)));
  });

  test('dtype conversions and fills on the GPU match the CPU bit for bit', async () => {
    const r = rng();
    for (const n of [1, 7, 129, 5003]) {
      const f = r.normals(n, 1000);
      for (const from of ['f32', 'bf16', 'i32'] as const) {
        const data = from === 'i32' ? Int32Array.from(f, (x) => Math.trunc(x)) : f;
        const g = Tensor.from(data, [n], { dtype: from, device });
        const c = Tensor.from(data, [n], { dtype: from });
        for (const to of ['f32', 'bf16', 'i32'] as const)
          assert.equal(await g.cast(to).toArray(), await c.cast(to).toArray(), `${from} -> ${to} n=${n}`);
      }
      for (const dtype of ['f32', 'bf16', 'i32'] as const)
        assert.equal(
          await Tensor.full([n], -3.7, { dtype, device }).toArray(),
          await Tensor.full([n], -3.7, { dtype }).toArray(),
          `fill ${dtype} n=${n}`,
        );
    }
  });

  test('a read sees the tensor as it was when the read was asked for, not after later GPU ops', async () => {
    const r = rng();
    const v = r.normals(4097);
    const a = Tensor.from(v, [4097], { device });
    const pending = a.toArray();
    native().fill(a.handle, 5); // enqueued after the read
    assert.equal(await pending, v);
    assert.equal(await a.toArray(), new Float32Array(4097).fill(5));
  });

  test('a copy to the GPU waits for the CPU ops that produce its source', async () => {
    const r = rng();
    const x = r.normals(100003);
    const y = r.normals(100003);
    const sumCpu = ops.add(Tensor.from(x, [100003]), Tensor.from(y, [100003])); // still queued on the CPU
    const onGpu = sumCpu.to(device);
    assertClose(await onGpu.toArray(), Array.from(x, (xi, i) => xi + y[i]), 1e-6, 'x + y copied to the GPU');
  });

  test('memory statistics follow allocation and disposal', () => {
    glm.synchronize(device);
    glm.emptyCache(device);
    const before = glm.memory(device);
    const t = Tensor.empty([1 << 20], { device });
    const during = glm.memory(device);
    assert.ok(during.allocated >= before.allocated + 4 * (1 << 20), 'allocated grows by the tensor');
    assert.ok(during.reserved >= during.allocated);
    assert.ok(during.peakAllocated >= during.allocated);
    t.dispose();
    const after = glm.memory(device);
    // (<=: a garbage-collected tensor may be freed meanwhile)
    assert.ok(after.allocated <= during.allocated - 4 * (1 << 20), 'disposal gives the block back');
    assert.ok(after.reserved >= before.reserved + 4 * (1 << 20), 'the block stays cached');
    const again = Tensor.empty([1 << 20], { device });
    assert.is(glm.memory(device).systemAllocCount, after.systemAllocCount, 'the cached block is reused');
    again.dispose();
    glm.emptyCache(device);
    assert.is(glm.memory(device).reserved, glm.memory(device).allocated);
  });

  test('new allocations are NaN-poisoned in tests (-1 for i32)', async () => {
    for (const n of [1, 7, 1000]) {
      for (const x of await Tensor.empty([n], { device }).toArray()) assert.ok(Number.isNaN(x));
      for (const x of await Tensor.empty([n], { dtype: 'bf16', device }).toArray()) assert.ok(Number.isNaN(x));
      assert.equal(await Tensor.empty([n], { dtype: 'i32', device }).toArray(), new Int32Array(n).fill(-1));
    }
  });

  test('an op mixing devices names the op and both devices', async () => {
    await assertThrows(() => ops.add(Tensor.zeros([3], { device }), Tensor.zeros([3])), 'add', 'cuda:0', 'cpu');
  });

  test('a deferred device error (out-of-range id) surfaces at the next read, once', async () => {
    // The embedding op comes from its own module; this checks the runtime's side: the error found by
    // the kernel reaches the read that follows, names the op, the index and the value, and is cleared.
    const embedding = (glm.ops as unknown as Record<string, unknown>).embedding as
      | ((table: glm.Tensor, ids: glm.Tensor) => glm.Tensor)
      | undefined;
    assert.type(embedding, 'function', 'ops.embedding is exported');
    const table = Tensor.from(rng().normals(65 * 4), [65, 4], { device });
    const ids = Tensor.from(Int32Array.from([0, 1, 2, 3, 4, 70000, 6]), [7], { device });
    const out = embedding!(table, ids);
    await assertThrows(() => out.toArray(), 'embedding', '70000', 'index 5', '[0, 65)');
    // Cleared: the next read succeeds.
    const ok = Tensor.from([1, 2, 3], [3], { device });
    assert.equal(await ok.toArray(), Float32Array.from([1, 2, 3]));
    glm.synchronize(device);
  });
});
