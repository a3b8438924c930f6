/** permute and transpose: values against a float64 reference for many perms, shapes and dtypes; gradients; bad input. */
import * as assert from 'uvu/assert';

import { native } from '../lib/native';
import { permute, transpose } from '../lib/ops/layout';
import { Tensor } from '../lib/tensor';
import { assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16, seedNote } from './helpers/random';
import { allPerms, inversePerm, permutedShape, permuteRef } from './reference/layout';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Permute is a copy: every element must match exactly. */
function assertExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++)
    if (!Object.is(actual[i], expected[i]))
      assert.unreachable(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} ${seedNote()}`);
}

type DT = 'f32' | 'bf16' | 'i32';

function data(dtype: DT, n: number, r: ReturnType<typeof rng>): Float32Array | Int32Array {
  if (dtype === 'i32') return r.ints(n, -1000000, 1000000);
  const v = r.normals(n);
  return dtype === 'bf16' ? roundBf16(v) : v;
}

// Shapes with dims of 1 and sizes that are not multiples of the 32-wide tiles.
const CASES: [number[], number[][]][] = [
  [[], [[]]],
  [[7], [[0]]],
  [[1, 1], allPerms(2)],
  [[67, 129], allPerms(2)],
  [[3, 1, 129], allPerms(3)],
  [[5, 33, 7], allPerms(3)],
  [[2, 7, 3, 65], allPerms(4)],
  [[2, 1, 5, 1, 17], [[4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 3, 0, 2, 4], [0, 2, 1, 4, 3]]],
  [[2, 3, 1, 4, 5, 3], [[5, 4, 3, 2, 1, 0], [1, 0, 3, 2, 5, 4], [2, 5, 0, 3, 4, 1], [0, 1, 2, 3, 5, 4], [0, 1, 2, 3, 4, 5]]],
  // Attention heads: split fused QKV (B, T, 3, H, D) -> (3, B, H, T, D); merge (B, H, T, D) -> (B, T, H, D).
  [[2, 65, 3, 4, 16], [[2, 0, 3, 1, 4]]],
  [[2, 4, 65, 16], [[0, 2, 1, 3]]],
  [[3, 129, 2, 40], [[0, 2, 1, 3], [0, 1, 3, 2]]],
  [[0, 3, 5], [[2, 0, 1]]],
];

deviceSuites('permute', (test, device) => {
  for (const dtype of ['f32', 'bf16', 'i32'] as const) {
    test(`permute matches the reference for many perms and shapes (${dtype})`, async () => {
      const r = rng();
      for (const [shape, perms] of CASES) {
        const v = data(dtype, numel(shape), r);
        const x = Tensor.from(v, shape, { dtype, device });
        for (const perm of perms) {
          const y = permute(x, perm);
          assert.equal(y.shape, permutedShape(shape, perm));
          assert.is(y.dtype, dtype);
          assert.is(y.device, x.device);
          assertExact(await y.toArray(), permuteRef(v, shape, perm), `permute [${shape}] by [${perm}]`);
        }
      }
    });
  }

  test('large cases: (B, T, 3, H, D) split, (B, H, T, D) merge, 2-D transpose, long rows', async () => {
    const r = rng();
    for (const [shape, perm] of [
      [[3, 257, 3, 6, 64], [2, 0, 3, 1, 4]],
      [[3, 6, 257, 64], [0, 2, 1, 3]],
      [[1031, 517], [1, 0]],
      [[4, 63, 129], [0, 2, 1]],
      [[3, 2, 20001], [1, 0, 2]],  // rows longer than one work segment: split across threads
    ]) {
      for (const dtype of ['f32', 'bf16'] as const) {
        const v = data(dtype, numel(shape), r);
        const y = permute(Tensor.from(v, shape, { dtype, device }), perm);
        assertExact(await y.toArray(), permuteRef(v, shape, perm), `permute [${shape}] by [${perm}] (${dtype})`);
      }
    }
  });

  test('transpose swaps two dims (negative dims count from the end)', async () => {
    const r = rng();
    const shape = [3, 7, 65];
    const v = r.normals(numel(shape));
    const x = Tensor.from(v, shape, { device });
    for (const [a, b, perm] of [
      [0, 1, [1, 0, 2]],
      [1, -1, [0, 2, 1]],
      [-3, 2, [2, 1, 0]],
      [1, 1, [0, 1, 2]],
    ] as [number, number, number[]][]) {
      const y = transpose(x, a, b);
      assert.equal(y.shape, permutedShape(shape, perm));
      assertExact(await y.toArray(), permuteRef(v, shape, perm), `transpose(${a}, ${b})`);
    }
  });

  for (const dtype of ['f32', 'bf16'] as const) {
    test(`gradients permute back (${dtype})`, async () => {
      const r = rng();
      for (const [shape, perm] of [
        [[2, 7, 3, 65], [3, 1, 0, 2]],
        [[2, 9, 3, 4, 8], [2, 0, 3, 1, 4]],
        [[33, 65], [1, 0]],
      ]) {
        const v = data(dtype, numel(shape), r) as Float32Array;
        const x = Tensor.from(v, shape, { dtype, device, requiresGrad: true });
        const y = permute(x, perm);
        assert.ok(y.requiresGrad);
        const outShape = permutedShape(shape, perm);
        const gv = data(dtype, numel(shape), r) as Float32Array;
        y.backward(Tensor.from(gv, outShape, { dtype, device }));
        assertExact(await x.grad!.toArray(), permuteRef(gv, outShape, inversePerm(perm)), `d permute [${shape}] by [${perm}]`);
      }
      // transpose composed with itself: the gradient passes through both.
      const x = Tensor.from(data(dtype, 35, r), [5, 7], { dtype, device, requiresGrad: true });
      const gv = data(dtype, 35, r) as Float32Array;
      transpose(transpose(x, 0, 1), 1, 0).backward(Tensor.from(gv, [5, 7], { dtype, device }));
      assertExact(await x.grad!.toArray(), gv, 'd transpose(transpose(x))');
    });
  }

  test('bad input names the op, the argument, expected and actual', async () => {
    const x = Tensor.zeros([2, 3, 4], { device });
    await assertThrows(() => permute(x, [0, 0, 1]), 'permute', "'perm'", 'permutation of 3 dims', '[0, 0, 1]', 'twice');
    await assertThrows(() => permute(x, [0, 1]), 'permute', "'perm'", 'permutation of 3 dims', '[0, 1]');
    await assertThrows(() => permute(x, [0, 1, 3]), 'permute', "'perm'", '[0, 1, 3]');
    await assertThrows(() => permute(x, [0, 1.5, 2]), 'permute', "'perm'", '1.5');
    await assertThrows(() => permute(x, 'abc' as unknown as number[]), 'permute', "'perm'", '"abc"');
    await assertThrows(() => permute(3 as unknown as Tensor, [0]), 'permute', "'x'", 'Tensor', '3');
    const big = Tensor.zeros([1, 1, 1, 1, 1, 1, 2], { device });
    await assertThrows(() => permute(big, [0, 1, 2, 3, 4, 5, 6]), 'permute', "'x'", 'at most 6 dims', '[1, 1, 1, 1, 1, 1, 2]');
    await assertThrows(() => transpose(x, 0, 3), 'transpose', "'dim1'", 'integer in [-3, 2]', '3');
    await assertThrows(() => transpose(x, NaN, 1), 'transpose', "'dim0'", 'NaN');
    await assertThrows(() => transpose(Tensor.zeros([], { device }), 0, 0), 'transpose', "'x'", 'scalar');
    const d = Tensor.zeros([3], { device });
    d.dispose();
    await assertThrows(() => permute(d, [0]), 'permute', "'x'", 'disposed');
  });

  test('the native side re-checks perm, out shape, dtype and overlap', async () => {
    const n = native<{ permute(out: unknown, x: unknown, perm: number[]): void }>();
    const x = Tensor.zeros([2, 3, 4], { device });
    const out = Tensor.empty([4, 3, 2], { device });
    await assertThrows(() => n.permute(out.handle, x.handle, [2, 1, 1]), 'permute', "'perm'", 'permutation of 0..2', 'got 1 at position 2');
    await assertThrows(() => n.permute(out.handle, x.handle, [2, 1]), 'permute', "'perm'", 'got 2 entries');
    await assertThrows(() => n.permute(out.handle, x.handle, [0, 1, 2]), 'permute', "'out'", '[2, 3, 4]', '[4, 3, 2]');
    const outBf = Tensor.empty([4, 3, 2], { dtype: 'bf16', device });
    await assertThrows(() => n.permute(outBf.handle, x.handle, [2, 1, 0]), 'permute', "'out'", 'f32', 'bf16');
    const sq = Tensor.zeros([3, 3], { device });
    await assertThrows(() => n.permute(sq.handle, sq.handle, [1, 0]), 'permute', "'out'", 'overlaps');
    await assertThrows(() => n.permute(out.handle, x.handle, [2, -1, 0]), 'permute', "'perm'", '-1');
  });
});
