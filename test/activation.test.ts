/**
 * gelu: values and gradients against Math.tanh references (element by element on a dense grid and on
 * random tensors of awkward sizes), bf16, autograd, in-place aliasing allowed by the native op, bad
 * input. Re-run in child processes at every lower CPU level (AVX2, scalar): each has its own code.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';

import { buildInfo, Tensor } from '../lib/index';
import { native, NativeTensor } from '../lib/native';
import { gelu } from '../lib/ops/activation';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16, seedNote } from './helpers/random';
import { geluBackwardRef, geluRef } from './reference/activation';

interface ActivationNative {
  gelu(out: NativeTensor, x: NativeTensor): void;
  geluBackward(dx: NativeTensor, dout: NativeTensor, x: NativeTensor): void;
}
const nat = () => native<ActivationNative>();
const CHILD_LEVEL = process.env.GLM_ACTIVATION_TEST_CHILD;

/** A dense grid over [lo, hi] as f32. */
function grid(lo: number, hi: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** |got − ref| <= rel·|ref| + abs for every element. */
function assertElementwise(got: ArrayLike<number>, ref: ArrayLike<number>, x: ArrayLike<number>, rel: number, abs: number, what: string) {
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= rel * Math.abs(ref[i]) + abs))
      assert.unreachable(`${what}: at x = ${x[i]} got ${got[i]}, expected ${ref[i]} (error ${err.toExponential(2)}) ${seedNote()}`);
  }
}

deviceSuites(CHILD_LEVEL ? `gelu (GLM_CPU_LEVEL=${CHILD_LEVEL})` : 'gelu', (test, device) => {
  if (CHILD_LEVEL && device === 'cpu') {
    test('runs at the requested CPU level', () => {
      assert.is(buildInfo().cpuLevel, CHILD_LEVEL);
    });
  }

  test('forward and derivative match Math.tanh references element by element (f32)', async () => {
    // [-5, 12]: below -5 the float64 reference itself loses its digits (1 + tanh(u) cancels).
    const x = grid(-5, 12, 100003);
    const y = await gelu(Tensor.from(x, [x.length], { device })).toArray();
    // exp(z) amplifies the f32 rounding of its argument z = −2u: relative error ≈ |z|·2^-23·(a few);
    // |z| <= 17 on this range, hence 5e-6.
    assertElementwise(y, geluRef(x), x, 5e-6, 0, 'gelu');
    const dx = Tensor.empty([x.length], { device });
    nat().geluBackward(dx.handle, Tensor.ones([x.length], { device }).handle, Tensor.from(x, [x.length], { device }).handle);
    // gelu' = s + (a term of opposite sign near x = −0.75, where gelu' crosses 0): absolute error of
    // a few f32 ulps of 1 there.
    assertElementwise(await dx.toArray(), geluBackwardRef(new Float32Array(x.length).fill(1), x), x, 5e-6, 2e-7, "gelu'");
    // The whole range, tails included, norm-wise: ~1e-6 relative as the brief for GELU asks.
    const wide = grid(-30, 30, 20001);
    assertClose(await gelu(Tensor.from(wide, [wide.length], { device })).toArray(), geluRef(wide), 1e-6, 'gelu on [-30, 30]');
  });

  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = tolFor(dtype);
    test(`random tensors of awkward sizes, with gradients (${dtype})`, async () => {
      const r = rng();
      const prep = (v: Float32Array) => (dtype === 'bf16' ? roundBf16(v) : v);
      for (const shape of [[1], [7], [15], [17], [63, 65], [3, 129, 7], [100003]]) {
        const n = shape.reduce((p, q) => p * q, 1);
        const xv = prep(r.normals(n, 2));
        const gv = prep(r.normals(n));
        const x = Tensor.from(xv, shape, { dtype, device, requiresGrad: true });
        const y = gelu(x);
        assert.equal(y.shape, shape);
        assert.is(y.dtype, dtype);
        assertClose(await y.toArray(), geluRef(xv), tol, `gelu [${shape}]`);
        y.backward(Tensor.from(gv, shape, { dtype, device }));
        assertClose(await x.grad!.toArray(), geluBackwardRef(gv, xv), tol, `gelu grad [${shape}]`);
      }
    });
  }

  test('the native op may write in place (out = x, dx = dout)', async () => {
    const r = rng();
    const xv = r.normals(1001), gv = r.normals(1001);
    const x = Tensor.from(xv, [1001], { device });
    nat().gelu(x.handle, x.handle);
    assertClose(await x.toArray(), geluRef(xv), 1e-6, 'in-place gelu');
    const g = Tensor.from(gv, [1001], { device });
    nat().geluBackward(g.handle, g.handle, Tensor.from(xv, [1001], { device }).handle);
    assertClose(await g.toArray(), geluBackwardRef(gv, xv), 1e-6, 'in-place geluBackward');
  });

  if (CHILD_LEVEL) return;

  test('bad input names the op, the argument, expected and actual', async () => {
    await assertThrows(() => gelu(Tensor.zeros([3], { dtype: 'i32', device })), 'gelu', "'x'", 'f32 or bf16', 'i32');
    await assertThrows(() => gelu([1, 2] as unknown as Tensor), 'gelu', "'x'", 'Tensor');
    const d = Tensor.zeros([3], { device });
    d.dispose();
    await assertThrows(() => gelu(d), 'gelu', "'x'", 'disposed');
    const x = Tensor.zeros([4], { device });
    await assertThrows(() => nat().gelu(Tensor.empty([5], { device }).handle, x.handle), 'gelu', "'out'", '[4]', '[5]');
    await assertThrows(() => nat().gelu(Tensor.empty([4], { dtype: 'bf16', device }).handle, x.handle), 'gelu', "'out'", 'f32', 'bf16');
    await assertThrows(() => nat().geluBackward(Tensor.empty([4], { device }).handle, Tensor.zeros([3], { device }).handle, x.handle), 'geluBackward', "'dout'", '[4]', '[3]');
    await assertThrows(() => nat().geluBackward(x.handle, Tensor.zeros([4], { device }).handle, x.handle), 'geluBackward', "'dx' overlaps input 'x'");
  });

  if (device === 'cpu') {
    test('every lower CPU level (AVX2, scalar) passes in a child process', () => {
      const levels = ['scalar', 'avx2', 'avx512'];
      const top = levels.indexOf(buildInfo().cpuLevel);
      const lower = levels.slice(0, top);
      console.log(`  [cpu] native level ${levels[top]}; also checking ${lower.join(', ') || 'none (this CPU has no SIMD level)'}`);
      for (const level of lower) {
        const child = spawnSync(process.execPath, ['--import', 'tsx', __filename], {
          env: { ...process.env, GLM_CPU_LEVEL: level, GLM_ACTIVATION_TEST_CHILD: level },
          encoding: 'utf8',
        });
        if (child.status !== 0) assert.unreachable(`GLM_CPU_LEVEL=${level} failed (exit ${child.status}):\n${child.stdout}\n${child.stderr}`);
        assert.match(child.stdout, /Passed:\D*\d+/);
      }
    });
  }
});
