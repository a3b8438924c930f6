/** layerNorm: forward and every gradient against the float64 reference, finite differences, bad input. */
import * as assert from 'uvu/assert';

import * as glm from '../lib/index';
import { native, NativeTensor } from '../lib/native';
import { Tensor } from '../lib/index';
import { layerNorm } from '../lib/ops/layerNorm';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16 } from './helpers/random';
import { cpuLevelSuite } from './cpuLevels';
import { layerNormBackwardRef, layerNormRef } from './reference/layerNorm';

const ROWS = [1, 7, 63, 129];
const CHANNELS = [1, 7, 64, 65, 768];

deviceSuites('layerNorm', (test, device) => {
  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = tolFor(dtype);
    const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);

    for (const withBias of [true, false]) {
      test(`forward, statistics and all gradients, ${withBias ? 'with bias' : 'bias null'} (${dtype})`, async () => {
        const r = rng();
        for (const N of ROWS) {
          for (const C of CHANNELS) {
            // An offset mean and a non-unit spread, so that the centring matters.
            const xv = prep(r.normals(N * C, 2).map((v) => v + 3));
            const wv = prep(r.normals(C)), bv = prep(r.normals(C)), gv = prep(r.normals(N * C));
            const x = Tensor.from(xv, [N, C], { dtype, device, requiresGrad: true });
            const w = Tensor.from(wv, [C], { dtype, device, requiresGrad: true });
            const b = withBias ? Tensor.from(bv, [C], { dtype, device, requiresGrad: true }) : null;
            const out = layerNorm(x, w, b);
            assert.equal(out.shape, [N, C]);
            assert.is(out.dtype, dtype);
            const ref = layerNormRef(xv, wv, withBias ? bv : null, C, 1e-5);
            const what = `N=${N} C=${C}`;
            assertClose(await out.toArray(), ref.out, tol, `out ${what}`);
            const [mean, rstd] = out.gradFn!.saved;
            assertClose(await mean.toArray(), ref.mean, 1e-5, `mean ${what}`);  // f32 sums of ≤ 768 terms
            assertClose(await rstd.toArray(), ref.rstd, 1e-4, `rstd ${what}`);
            out.backward(Tensor.from(gv, [N, C], { dtype, device }));
            const back = layerNormBackwardRef(gv, xv, wv, C, 1e-5);
            const dx = await x.grad!.toArray();
            if (C > 1) {
              assertClose(dx, back.dx, tol, `dx ${what}`);
            } else {
              // C = 1: dx is 0 in exact arithmetic, so a relative error means nothing. What is left is
              // the rounding of g = dout·weight (a few f32 ulps, FMA contraction included) amplified by
              // rstd = 1/sqrt(eps) ≈ 316: bound it by 1e-6·|g|·rstd (8 ulps).
              for (let i = 0; i < N; i++)
                if (!(Math.abs(dx[i]) <= 1e-6 * Math.abs(gv[i] * wv[0]) * ref.rstd[i]))
                  assert.unreachable(`dx ${what} at ${i}: ${dx[i]} is not ~0`);
            }
            assertClose(await w.grad!.toArray(), back.dweight, tol, `dweight ${what}`);
            if (b) assertClose(await b.grad!.toArray(), back.dbias, tol, `dbias ${what}`);
          }
        }
      });
    }

    test(`leading dimensions and a large eps (${dtype})`, async () => {
      const r = rng();
      const [B, T, C] = [3, 5, 65];
      const xv = prep(r.normals(B * T * C, 0.3)), wv = prep(r.normals(C)), bv = prep(r.normals(C));
      const x = Tensor.from(xv, [B, T, C], { dtype, device, requiresGrad: true });
      const out = layerNorm(x, Tensor.from(wv, [C], { dtype, device }), Tensor.from(bv, [C], { dtype, device }), 0.5);
      assert.equal(out.shape, [B, T, C]);
      assertClose(await out.toArray(), layerNormRef(xv, wv, bv, C, 0.5).out, tol, 'out eps=0.5');
      const gv = prep(r.normals(B * T * C));
      out.backward(Tensor.from(gv, [B, T, C], { dtype, device }));
      assertClose(await x.grad!.toArray(), layerNormBackwardRef(gv, xv, wv, C, 0.5).dx, tol, 'dx eps=0.5');
    });
  }

  test('gradients match central finite differences (f32, tiny case)', async () => {
    const r = rng();
    const [N, C] = [2, 5];
    const xv = r.normals(N * C), wv = r.normals(C), bv = r.normals(C), pv = r.normals(N * C);
    // L = sum(layerNorm(x) · p), evaluated from the op's f32 output in double.
    const lossAt = async (x: Float32Array, w: Float32Array, b: Float32Array) => {
      const out = await glm.noGrad(() => layerNorm(Tensor.from(x, [N, C], { device }), Tensor.from(w, [C], { device }),
        Tensor.from(b, [C], { device }))).toArray();
      let s = 0;
      for (let i = 0; i < out.length; i++) s += out[i] * pv[i];
      return s;
    };
    const x = Tensor.from(xv, [N, C], { device, requiresGrad: true });
    const w = Tensor.from(wv, [C], { device, requiresGrad: true });
    const b = Tensor.from(bv, [C], { device, requiresGrad: true });
    layerNorm(x, w, b).backward(Tensor.from(pv, [N, C], { device }));
    // Central differences with h = 1e-2 in f32: truncation O(h²·L''') ≈ 1e-4 and rounding
    // ε·|L|/h ≈ 1e-5·|L| on gradients of order 1, so 2e-3 relative is a safe bound.
    const h = 1e-2;
    const params: [string, Float32Array, Tensor][] = [['x', xv, x], ['weight', wv, w], ['bias', bv, b]];
    for (const [name, v, t] of params) {
      const fd = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const plus = v.slice(), minus = v.slice();
        plus[i] += h;
        minus[i] -= h;
        const args = (p: Float32Array) => params.map(([n, orig]) => (n === name ? p : orig)) as [Float32Array, Float32Array, Float32Array];
        fd[i] = ((await lossAt(...args(plus))) - (await lossAt(...args(minus)))) / (2 * h);
      }
      assertClose(await t.grad!.toArray(), fd, 2e-3, `d${name} vs finite differences`);
    }
  });

  test('no grad: no tape, statistics neither kept nor computed into tensors, same output', async () => {
    const r = rng();
    for (const [N, C] of [[7, 64], [3, 65], [129, 1]]) {
      for (const withBias of [true, false]) {
        const xv = r.normals(N * C, 2).map((v) => v - 1), wv = r.normals(C), bv = r.normals(C);
        const x = Tensor.from(xv, [N, C], { device });
        const before = glm.memory(device).allocCount;
        const out = layerNorm(x, Tensor.from(wv, [C], { device }), withBias ? Tensor.from(bv, [C], { device }) : null);
        // weight, bias (when given) and the output: no mean or rstd tensors.
        assert.is(glm.memory(device).allocCount - before, withBias ? 3 : 2, 'allocations of a no-grad call');
        assert.is(out.gradFn, null);
        assert.is(out.requiresGrad, false);
        assertClose(await out.toArray(), layerNormRef(xv, wv, withBias ? bv : null, C, 1e-5).out, 1e-4, `no-grad out N=${N} C=${C}`);
      }
    }
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const op = 'layerNorm';
    const x = Tensor.zeros([4, 6], { device });
    const w = Tensor.ones([6], { device });
    await assertThrows(() => layerNorm(Tensor.zeros([4, 6], { dtype: 'i32', device }), w, null), op, "'x'", 'f32 or bf16', 'i32');
    await assertThrows(() => layerNorm(Tensor.zeros([], { device }), w, null), op, "'x'", '[..., C]', '[]');
    await assertThrows(() => layerNorm(x, Tensor.ones([5], { device }), null), op, "'weight'", '[6]', '[5]');
    await assertThrows(() => layerNorm(x, Tensor.ones([6], { dtype: 'bf16', device }), null), op, "'weight'", 'f32', 'bf16');
    await assertThrows(() => layerNorm(x, w, Tensor.ones([6, 1], { device })), op, "'bias'", '[6]', '[6, 1]');
    await assertThrows(() => layerNorm(x, w, 0 as unknown as Tensor), op, "'bias'", 'Tensor', '0');
    for (const eps of [NaN, Infinity, 0, -1e-5, 1e-50])
      await assertThrows(() => layerNorm(x, w, null, eps), op, "'eps'", 'finite number > 0', String(eps));
    if (device !== 'cpu') await assertThrows(() => layerNorm(x, Tensor.ones([6]), null), op, "'weight'", device, 'cpu');
  });

  test('the native side re-checks its arguments', async () => {
    const nat = native<{ layerNormForward(...a: unknown[]): void; layerNormBackward(...a: unknown[]): void }>();
    const h = (t: Tensor): NativeTensor => t.handle;
    const x = Tensor.zeros([4, 6], { device }), w = Tensor.ones([6], { device });
    const out = Tensor.empty([4, 6], { device }), mean = Tensor.empty([4], { device }), rstd = Tensor.empty([4], { device });
    await assertThrows(() => nat.layerNormForward(h(out), h(mean), h(rstd), h(x), h(w), null, 0), 'layerNorm', "'eps'", '> 0');
    await assertThrows(() => nat.layerNormForward(h(out), h(Tensor.empty([3], { device })), h(rstd), h(x), h(w), null, 1e-5),
      'layerNorm', "'mean'", '4 elements', '[3]');
    await assertThrows(() => nat.layerNormForward(h(x), h(mean), h(rstd), h(x), h(w), null, 1e-5), 'layerNorm', "'out'", 'overlaps');
    await assertThrows(() => nat.layerNormForward(h(out), h(mean), null, h(x), h(w), null, 1e-5), 'layerNorm', "'mean' and 'rstd'", 'both', "only 'mean'");
    await assertThrows(() => nat.layerNormForward(h(out), null, h(rstd), h(x), h(w), null, 1e-5), 'layerNorm', "only 'rstd'");
    await assertThrows(() => nat.layerNormBackward(h(out), h(Tensor.empty([6], { dtype: 'bf16', device })), null, h(x), h(x), h(w),
      h(mean), h(rstd)), 'layerNormBackward', "'dweight'", 'f32', 'bf16');
  });
});

cpuLevelSuite('layerNorm', __filename);
