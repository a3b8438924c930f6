/** embedding: gather and deterministic scatter-add against the float64 reference, hazards, bad input. */
import * as assert from 'uvu/assert';

import * as glm from '../lib/index';
import { native, NativeTensor } from '../lib/native';
import { Tensor } from '../lib/index';
import { embedding } from '../lib/ops/embedding';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16 } from './helpers/random';
import { cpuLevelSuite } from './cpuLevels';
import { embeddingBackwardRef, embeddingRef } from './reference/embedding';

const TABLES: [number, number][] = [[1, 7], [7, 1], [65, 64], [1000, 65], [7, 768], [129, 7]];
const ID_SHAPES = [[1], [7], [63], [129], [3, 43]];

deviceSuites('embedding', (test, device) => {
  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = tolFor(dtype);
    const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);

    test(`forward and backward, repeated ids (${dtype})`, async () => {
      const r = rng();
      for (const [V, C] of TABLES) {
        for (const idShape of ID_SHAPES) {
          const N = idShape.reduce((a, b) => a * b, 1);
          const tv = prep(r.normals(V * C));
          // Ids from a few values only, so that most rows repeat (several times when N ≫ V).
          const iv = r.ints(N, 0, Math.min(V, 5));
          for (let i = 0; i < N; i++) if (r.next() < 0.3) iv[i] = r.int(0, V);
          const gv = prep(r.normals(N * C));
          const table = Tensor.from(tv, [V, C], { dtype, device, requiresGrad: true });
          const out = embedding(table, Tensor.from(iv, idShape, { device }));
          assert.equal(out.shape, [...idShape, C]);
          const what = `V=${V} C=${C} ids [${idShape}]`;
          // The forward is a copy: exact in either dtype.
          assertClose(await out.toArray(), embeddingRef(tv, iv, C), 0, `out ${what}`);
          out.backward(Tensor.from(gv, [...idShape, C], { dtype, device }));
          assertClose(await table.grad!.toArray(), embeddingBackwardRef(gv, iv, V, C), tol, `dtable ${what}`);
        }
      }
    });
  }

  test('the backward is bit-identical whatever the thread count', async () => {
    const r = rng();
    const [V, C, N] = [50, 65, 4099];
    const tv = r.normals(V * C), iv = r.ints(N, 0, V), gv = r.normals(N * C);
    const before = glm.numThreads();
    const grads: Float32Array[] = [];
    try {
      for (const threads of [1, 2, 3]) {
        glm.setNumThreads(threads);
        const table = Tensor.from(tv, [V, C], { device, requiresGrad: true });
        embedding(table, Tensor.from(iv, [N], { device })).backward(Tensor.from(gv, [N, C], { device }));
        grads.push((await table.grad!.toArray()) as Float32Array);
      }
    } finally {
      glm.setNumThreads(before);
    }
    assertClose(grads[0], embeddingBackwardRef(gv, iv, V, C), 1e-5, 'dtable');  // f32 sums of ~80 terms
    assert.equal(Array.from(grads[1]), Array.from(grads[0]), '2 threads vs 1');
    assert.equal(Array.from(grads[2]), Array.from(grads[0]), '3 threads vs 1');
  });

  test('no ids: an empty output and a zero gradient', async () => {
    const table = Tensor.from(rng().normals(7 * 5), [7, 5], { device, requiresGrad: true });
    const out = embedding(table, Tensor.from(new Int32Array(0), [0], { device }));
    assert.equal(out.shape, [0, 5]);
    out.backward(Tensor.zeros([0, 5], { device }));
    assertClose(await table.grad!.toArray(), new Float64Array(35), 0, 'dtable');
  });

  test('the backward still works when the caller has freed the ids', async () => {
    const table = Tensor.from(rng().normals(7 * 5), [7, 5], { device, requiresGrad: true });
    const ids = Tensor.from(new Int32Array([3, 3, 1]), [3], { device });
    const out = embedding(table, ids);
    ids.dispose();
    const gv = rng().normals(15);
    out.backward(Tensor.from(gv, [3, 5], { device }));
    assertClose(await table.grad!.toArray(), embeddingBackwardRef(gv, [3, 3, 1], 7, 5), 1e-6, 'dtable');
  });

  test('an out-of-range id is a deferred error naming the op, the index and the value', async () => {
    const table = Tensor.from(rng().normals(10 * 4), [10, 4], { device });
    for (const [bad, at] of [[10, 3], [-2, 0], [2147483647, 5]]) {
      const iv = new Int32Array([1, 2, 3, 4, 5, 6]);
      iv[at] = bad;
      const out = embedding(table, Tensor.from(iv, [2, 3], { device }));  // returns at once
      await assertThrows(() => out.toArray(), 'embedding', `index ${at}`, `got ${bad}`, '[0, 10)');
    }
    const ok = embedding(table, Tensor.from(new Int32Array([9]), [1], { device }));
    assert.is((await ok.toArray()).length, 4, 'the device is usable again');
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const op = 'embedding';
    const table = Tensor.zeros([10, 4], { device });
    const ids = Tensor.zeros([3], { dtype: 'i32', device });
    await assertThrows(() => embedding(Tensor.zeros([10], { device }), ids), op, "'table'", '2-D', '[10]');
    await assertThrows(() => embedding(Tensor.zeros([10, 4], { dtype: 'i32', device }), ids), op, "'table'", 'f32 or bf16', 'i32');
    await assertThrows(() => embedding(table, Tensor.zeros([3], { device })), op, "'ids'", 'i32', 'f32');
    await assertThrows(() => embedding(table, [1, 2] as unknown as Tensor), op, "'ids'", 'Tensor', 'array');
    if (device !== 'cpu') await assertThrows(() => embedding(table, Tensor.zeros([3], { dtype: 'i32' })), op, "'ids'", device, 'cpu');
  });

  test('the native side re-checks its arguments', async () => {
    const nat = native<{ embeddingForward(...a: unknown[]): void; embeddingBackward(...a: unknown[]): void }>();
    const h = (t: Tensor): NativeTensor => t.handle;
    const table = Tensor.zeros([10, 4], { device }), ids = Tensor.zeros([3], { dtype: 'i32', device });
    await assertThrows(() => nat.embeddingForward(h(Tensor.empty([3, 5], { device })), h(table), h(ids)), 'embedding', "'out'", '[3, 4]', '[3, 5]');
    await assertThrows(() => nat.embeddingForward(h(table), h(table), h(Tensor.zeros([10], { dtype: 'i32', device }))),
      'embedding', "'out'", 'overlaps');
    await assertThrows(() => nat.embeddingBackward(h(Tensor.empty([10, 4], { dtype: 'bf16', device })), h(Tensor.zeros([3, 4], { device })), h(ids)),
      'embeddingBackward', "'dout'", 'bf16', 'f32');
  });
});

cpuLevelSuite('embedding', __filename);
