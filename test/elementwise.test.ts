/** add, sub, mul, scale, sum, mean: values against float64 references, gradients, bad input. */
import * as assert from 'uvu/assert';

import { ops, Tensor } from '../lib/index';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16 } from './helpers/random';
import { addRef, mulRef, sumRef, sumRowsRef } from './reference/elementwise';

const SHAPES: [number[], number[]][] = [
  [[1], [1]],
  [[7], [7]],
  [[63, 65], [65]],
  [[3, 129, 7], [129, 7]],
  [[5, 1000], [5, 1000]],
];

deviceSuites('elementwise', (test, device) => {
  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = tolFor(dtype);
    const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);

    test(`add/sub/mul forward and backward, suffix broadcasting (${dtype})`, async () => {
      const r = rng();
      for (const [sa, sb] of SHAPES) {
        const na = sa.reduce((x, y) => x * y, 1);
        const nb = sb.reduce((x, y) => x * y, 1);
        const av = prep(r.normals(na)), bv = prep(r.normals(nb)), gv = prep(r.normals(na));
        for (const [name, fn, ref] of [
          ['add', ops.add, (x: Float32Array, y: Float32Array) => addRef(x, y)],
          ['sub', ops.sub, (x: Float32Array, y: Float32Array) => addRef(x, y, -1)],
          ['mul', ops.mul, mulRef],
        ] as const) {
          const a = Tensor.from(av, sa, { dtype, device, requiresGrad: true });
          const b = Tensor.from(bv, sb, { dtype, device, requiresGrad: true });
          const out = fn(a, b);
          assert.equal(out.shape, sa);
          assertClose(await out.toArray(), ref(av, bv), tol, `${name} ${sa}/${sb}`);
          out.backward(Tensor.from(gv, sa, { dtype, device }));
          const ga = await a.grad!.toArray();
          const gb = await b.grad!.toArray();
          if (name === 'mul') {
            assertClose(ga, mulRef(gv, bv).map((x, i) => x), tol, `${name} da`);
            const prod = new Float64Array(na);
            for (let i = 0; i < na; i++) prod[i] = gv[i] * av[i];
            assertClose(gb, sumRowsRef(prod, nb), tol, `${name} db`);
          } else {
            assertClose(ga, Float64Array.from(gv), tol, `${name} da`);
            const sign = name === 'sub' ? -1 : 1;
            assertClose(gb, sumRowsRef(gv, nb).map((x) => sign * x), tol, `${name} db`);
          }
        }
      }
    });

    test(`scale, sum and mean with gradients (${dtype})`, async () => {
      const r = rng();
      for (const n of [1, 7, 65, 4099, 100003]) {
        const v = prep(r.normals(n));
        const a = Tensor.from(v, [n], { dtype, device, requiresGrad: true });
        assertClose(await ops.scale(a, -2.5).toArray(), Array.from(v, (x) => -2.5 * x), tol, `scale n=${n}`);
        const s = ops.sum(a);
        assert.equal(s.shape, []);
        assert.is(s.dtype, 'f32');
        assertClose([await s.item()], [sumRef(v)], dtype === 'bf16' ? 1e-3 : 1e-5, `sum n=${n}`);
        const m = ops.mean(a);
        assertClose([await m.item()], [sumRef(v) / n], dtype === 'bf16' ? 1e-3 : 1e-5, `mean n=${n}`);
        m.backward();
        assertClose(await a.grad!.toArray(), new Float64Array(n).fill(1 / n), tol, `mean grad n=${n}`);
      }
    });
  }

  test('in-place accumulation of a gradient used twice (a*a)', async () => {
    const r = rng();
    const v = r.normals(33);
    const a = Tensor.from(v, [33], { device, requiresGrad: true });
    ops.sum(ops.add(ops.mul(a, a), a)).backward();
    assertClose(await a.grad!.toArray(), Array.from(v, (x) => 2 * x + 1), 1e-5, 'd(sum(a*a + a))/da');
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const a = Tensor.zeros([2, 3], { device });
    await assertThrows(() => ops.add(a, Tensor.zeros([2], { device })), 'add', "'b'", '[2, 3]', '[2]');
    await assertThrows(() => ops.mul(a, Tensor.zeros([3], { dtype: 'bf16', device })), 'mul', "'b'", 'f32', 'bf16');
    await assertThrows(() => ops.add(a, 3 as unknown as Tensor), 'add', "'b'", 'Tensor', '3');
    await assertThrows(() => ops.scale(a, NaN), 'scale', "'s'", 'finite', 'NaN');
    await assertThrows(() => ops.sum(Tensor.zeros([2], { dtype: 'i32', device })), 'sum', "'a'", 'f32 or bf16', 'i32');
    const d = Tensor.zeros([3], { device });
    d.dispose();
    await assertThrows(() => ops.add(a, d), 'add', "'b'", 'disposed');
  });
});
