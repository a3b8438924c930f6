/**
 * rope: forward and gradient against the float64 reference over awkward shapes (T = 1, 7, 65;
 * D = 2 .. 256; odd B·H), large positions (the angles are computed in double), finite differences,
 * the positionOffset of KV-cache decoding, bf16, in place, bad input; ropeAt (per-item positions from a
 * device tensor) against the reference item by item, its deferred error and its checks. Re-run at
 * every lower CPU level.
 */
import * as assert from 'uvu/assert';

import { Tensor } from '../lib/index';
import { native, NativeTensor } from '../lib/native';
import { rope, ropeAt } from '../lib/ops/rope';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16 } from './helpers/random';
import { cpuLevelSuite, isLevelChild } from './cpuLevels';
import { ropeBackwardRef, ropeRef } from './reference/rope';

interface RopeNative {
  rope(out: NativeTensor, x: NativeTensor, base: number, positionOffset: number): void;
  ropeBackward(dx: NativeTensor, dout: NativeTensor, base: number, positionOffset: number): void;
}
const nat = () => native<RopeNative>();

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// [B, H, T, D]: B·H odd and even, T = 1, 7, 65, D = 2 .. 256 (half-widths below, at and above the
// vector widths, with tails).
const SHAPES = [
  [1, 1, 1, 2], [1, 3, 7, 8], [3, 1, 65, 64], [2, 3, 7, 128], [1, 5, 65, 2], [2, 2, 1, 64], [1, 1, 7, 256],
  [1, 3, 65, 34], [3, 3, 7, 18],
];

deviceSuites('rope', (test, device) => {
  for (const dtype of ['f32', 'bf16'] as const) {
    // f32: the rotation is two products and a sum in f32 (a few ulps); bf16: one rounding of the output.
    const tol = dtype === 'bf16' ? tolFor('bf16') : 1e-6;
    const prep = (v: Float32Array) => (dtype === 'bf16' ? roundBf16(v) : v);

    test(`forward and gradient against the float64 reference, awkward shapes (${dtype})`, async () => {
      const r = rng();
      for (const shape of SHAPES) {
        for (const [base, positionOffset] of [[10000, 0], [500000, 3], [10, 1000]]) {
          const n = numel(shape);
          const xv = prep(r.normals(n)), gv = prep(r.normals(n));
          const x = Tensor.from(xv, shape, { dtype, device, requiresGrad: true });
          const y = rope(x, { base, positionOffset });
          assert.equal(y.shape, shape);
          assert.is(y.dtype, dtype);
          const what = `[${shape}] base=${base} offset=${positionOffset}`;
          assertClose(await y.toArray(), ropeRef(xv, shape, base, positionOffset), tol, `rope ${what}`);
          y.backward(Tensor.from(gv, shape, { dtype, device }));
          assertClose(await x.grad!.toArray(), ropeBackwardRef(gv, shape, base, positionOffset), tol, `grad ${what}`);
        }
      }
    });
  }

  test('large positions keep f32 accuracy (angles in double)', async () => {
    // At position ~2^31 an f32 angle pos·theta_0 would be off by up to 64 radians; the kernels
    // compute it in double, so the output keeps the f32 accuracy of the rotation alone.
    const r = rng();
    const shape = [1, 2, 7, 64];
    for (const positionOffset of [1_000_000, 2 ** 31 - 7]) {
      const xv = r.normals(numel(shape));
      const y = await rope(Tensor.from(xv, shape, { device }), { positionOffset }).toArray();
      assertClose(y, ropeRef(xv, shape, 10000, positionOffset), 1e-6, `offset ${positionOffset}`);
    }
  });

  test('default options: base 10000, positionOffset 0', async () => {
    const shape = [1, 2, 5, 16];
    const xv = rng().normals(numel(shape));
    assertClose(await rope(Tensor.from(xv, shape, { device })).toArray(), ropeRef(xv, shape, 10000, 0), 1e-6, 'defaults');
    // Position 0 is the identity.
    const first = [1, 1, 1, 16];
    const v = xv.slice(0, 16);
    assert.equal(Array.from(await rope(Tensor.from(v, first, { device })).toArray()), Array.from(v));
  });

  test('positionOffset: the last token alone at offset T − 1 equals the last row of the full rope', async () => {
    const r = rng();
    for (const [B, H, T, D] of [[1, 3, 7, 64], [2, 1, 65, 128], [1, 1, 2, 2]]) {
      const xv = r.normals(B * H * T * D);
      const full = await rope(Tensor.from(xv, [B, H, T, D], { device })).toArray();
      const last = new Float32Array(B * H * D), want = new Float32Array(B * H * D);
      for (let bh = 0; bh < B * H; bh++) {
        last.set(xv.subarray((bh * T + T - 1) * D, (bh * T + T) * D), bh * D);
        want.set(full.subarray((bh * T + T - 1) * D, (bh * T + T) * D), bh * D);
      }
      const step = await rope(Tensor.from(last, [B, H, 1, D], { device }), { positionOffset: T - 1 }).toArray();
      // The same positions give the same angles bit for bit, so the rows agree exactly.
      assert.equal(Array.from(step), Array.from(want), `[${B}, ${H}, ${T}, ${D}]`);
    }
  });

  test('gradients match central finite differences (f32, tiny case)', async () => {
    const r = rng();
    const shape = [1, 2, 3, 4];
    const n = numel(shape);
    const xv = r.normals(n), pv = r.normals(n);
    const base = 10, positionOffset = 2;
    // L = sum(rope(x) · p), evaluated in double from the op's f32 output.
    const lossAt = async (v: Float32Array) => {
      const y = await rope(Tensor.from(v, shape, { device }), { base, positionOffset }).toArray();
      let s = 0;
      for (let i = 0; i < n; i++) s += y[i] * pv[i];
      return s;
    };
    const x = Tensor.from(xv, shape, { device, requiresGrad: true });
    rope(x, { base, positionOffset }).backward(Tensor.from(pv, shape, { device }));
    // L is linear in x, so central differences have no truncation error: what is left is the f32
    // rounding of L's terms, ~1e-7·sum|y·p| / h, 1e-5 relative for h = 1e-2.
    const h = 1e-2;
    const fd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const plus = xv.slice(), minus = xv.slice();
      plus[i] += h;
      minus[i] -= h;
      fd[i] = ((await lossAt(plus)) - (await lossAt(minus))) / (plus[i] - minus[i]);
    }
    assertClose(await x.grad!.toArray(), fd, 1e-4, 'dx vs finite differences');
  });

  test('the native ops may write in place (out = x, dx = dout)', async () => {
    const r = rng();
    const shape = [1, 3, 7, 24];
    const xv = r.normals(numel(shape));
    const x = Tensor.from(xv, shape, { device });
    nat().rope(x.handle, x.handle, 10000, 5);
    assertClose(await x.toArray(), ropeRef(xv, shape, 10000, 5), 1e-6, 'in-place rope');
    const g = Tensor.from(xv, shape, { device });
    nat().ropeBackward(g.handle, g.handle, 10000, 5);
    assertClose(await g.toArray(), ropeBackwardRef(xv, shape, 10000, 5), 1e-6, 'in-place ropeBackward');
  });

  test('empty tensors (T = 0 or B = 0) give empty results', async () => {
    for (const shape of [[1, 2, 0, 8], [0, 2, 3, 8]]) {
      const y = rope(Tensor.zeros(shape, { device }));
      assert.equal(y.shape, shape);
      assert.is((await y.toArray()).length, 0);
    }
  });

  if (isLevelChild) return;

  test('bad input names the op, the argument, expected and actual', async () => {
    const op = 'rope';
    const x = Tensor.zeros([1, 2, 3, 8], { device });
    await assertThrows(() => rope(Tensor.zeros([1, 1, 1, 8], { dtype: 'i32', device })), op, "'x'", 'f32 or bf16', 'i32');
    await assertThrows(() => rope({} as unknown as Tensor), op, "'x'", 'Tensor');
    await assertThrows(() => rope(Tensor.zeros([2, 3, 8], { device })), op, "'x'", '4-D', '[2, 3, 8]');
    await assertThrows(() => rope(Tensor.zeros([1, 1, 2, 3, 8], { device })), op, "'x'", '4-D', '[1, 1, 2, 3, 8]');
    for (const D of [7, 1, 258])
      await assertThrows(() => rope(Tensor.zeros([1, 1, 2, D], { device })), op, "'x'", 'even and in [2, 256]', `[1, 1, 2, ${D}]`);
    for (const base of [NaN, Infinity, -Infinity, 0, -2])
      await assertThrows(() => rope(x, { base }), op, "'base'", 'finite number > 0', String(base));
    await assertThrows(() => rope(x, { base: '1e4' as unknown as number }), op, "'base'", 'finite number > 0', '"1e4"');
    for (const positionOffset of [-1, 1.5, NaN])
      await assertThrows(() => rope(x, { positionOffset }), op, "'positionOffset'", 'integer', String(positionOffset));
    await assertThrows(() => rope(x, { positionOffset: 2 ** 31 - 2 }), op, "'positionOffset'", 'positionOffset + T - 1 < 2^31', '(T 3)');
    await assertThrows(() => rope(x, null as unknown as object), op, "'opts'", 'options object', 'null');
    // The native side re-checks.
    const h = (t: Tensor) => t.handle;
    const out = Tensor.empty([1, 2, 3, 8], { device });
    await assertThrows(() => nat().rope(h(Tensor.empty([1, 2, 3, 6], { device })), h(x), 10000, 0), op, "'out'", '[1, 2, 3, 8]', '[1, 2, 3, 6]');
    await assertThrows(() => nat().rope(h(Tensor.empty([1, 2, 3, 8], { dtype: 'bf16', device })), h(x), 10000, 0), op, "'out'", 'f32', 'bf16');
    await assertThrows(() => nat().rope(h(out), h(Tensor.zeros([1, 2, 3, 5], { device })), 10000, 0), op, "'x'", 'even');
    await assertThrows(() => nat().rope(h(out), h(Tensor.zeros([6, 8], { device })), 10000, 0), op, "'x'", '4-D');
    await assertThrows(() => nat().rope(h(out), h(x), NaN, 0), op, "'base'", '> 0');
    await assertThrows(() => nat().rope(h(out), h(x), 10000, -1), op, "'positionOffset'", '>= 0', '-1');
    await assertThrows(() => nat().ropeBackward(h(out), h(Tensor.zeros([1, 2, 3, 9], { device })), 10000, 0), 'ropeBackward', "'dout'", 'even');
    await assertThrows(() => nat().ropeBackward(h(Tensor.empty([1, 2, 3, 4], { device })), h(x), 10000, 0), 'ropeBackward', "'dx'", '[1, 2, 3, 8]');
    if (device !== 'cpu') await assertThrows(() => nat().rope(h(Tensor.empty([1, 2, 3, 8])), h(x), 10000, 0), op, "'out'", device, 'cpu');
  });
});

deviceSuites('ropeAt (per-item positions on the device)', (test, device) => {
  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = dtype === 'bf16' ? tolFor('bf16') : 1e-6;
    const prep = (v: Float32Array) => (dtype === 'bf16' ? roundBf16(v) : v);
    test(`item b is rope at offset positions[b], awkward shapes (${dtype})`, async () => {
      const r = rng();
      for (const shape of [...SHAPES, [5, 3, 1, 64], [4, 1, 2, 10]]) {
        const [B, H, T, D] = shape;
        const xv = prep(r.normals(numel(shape)));
        const starts = Array.from({ length: B }, () => [0, r.int(1, 300), r.int(100000, 2000000)][r.int(0, 3)]);
        const x = Tensor.from(xv, shape, { dtype, device });
        const pos = Tensor.from(Int32Array.from(starts), [B], { dtype: 'i32', device });
        const got = await ropeAt(x, pos, { base: 10000 }).toArray();
        const item = H * T * D;
        for (let b = 0; b < B; b++)
          assertClose(got.subarray(b * item, (b + 1) * item), ropeRef(xv.subarray(b * item, (b + 1) * item), [1, H, T, D], 10000, starts[b]), tol,
            `[${shape}] item ${b} at ${starts[b]}`);
        x.dispose();
        pos.dispose();
      }
    });
  }

  test('a position out of range is a deferred error naming the item; bad arguments are refused', async () => {
    const x = Tensor.from(rng().normals(2 * 2 * 3 * 4), [2, 2, 3, 4], { device });
    const bad = Tensor.from(Int32Array.from([5, -3]), [2], { dtype: 'i32', device });
    const y = ropeAt(x, bad);  // checked when it runs: the positions are device data
    await assertThrows(() => y.toArray(), 'rope', '-3');
    y.dispose();
    await assertThrows(() => ropeAt(x, Tensor.zeros([3], { dtype: 'i32', device })), 'ropeAt', "'positions'", '[2]');
    await assertThrows(() => ropeAt(x, Tensor.zeros([2], { device })), 'ropeAt', "'positions'", 'i32');
    await assertThrows(() => ropeAt(x, bad, { base: 0 }), 'ropeAt', "'base'");
    await assertThrows(() => ropeAt(Tensor.zeros([2, 2, 3, 5], { device }), bad), 'ropeAt', "'x'", 'even');
    const g = Tensor.zeros([2, 2, 3, 4], { device, requiresGrad: true });
    await assertThrows(() => ropeAt(g, bad), 'ropeAt', 'no backward');
    for (const t of [x, bad, g]) t.dispose();
  });
});

cpuLevelSuite('rope', __filename);
