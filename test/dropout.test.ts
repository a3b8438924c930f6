/**
 * dropout: the exact mask against the TypeScript Philox reference (itself checked on Random123's
 * known-answer vectors), kept values, the kept fraction, gradients from the recomputed mask,
 * determinism in (seed, offset), awkward sizes and offsets (counter blocks split, the low counter
 * word wrapping), bf16, non-finite inputs, p = 0, bad input. Re-run at every lower CPU level.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { Tensor } from '../lib/index';
import { native, NativeTensor } from '../lib/native';
import { dropout } from '../lib/ops/dropout';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16, seedNote } from './helpers/random';
import { cpuLevelSuite, isLevelChild } from './cpuLevels';
import { dropoutKeepRef, dropoutRef, philox4x32_10 } from './reference/dropout';

interface DropoutNative {
  dropout(out: NativeTensor, x: NativeTensor, p: number, seed: number, offset: number): void;
}
const nat = () => native<DropoutNative>();

const SIZES = [1, 7, 63, 65, 129, 1000003];
// Offsets that start mid-block (1, 2, 3), far out, and where the low word of the block counter wraps
// within one 32-element AVX2 step (block 2^32 − 3 onwards).
const OFFSETS = [0, 1, 2, 3, 4101, 2 ** 34 - 13, 2 ** 53 - 2 ** 21];

/** What the kernel computes for a kept element: one f32 rounding of x · f32(1 / (1 − p)). */
function keptF32(x: number, p: number): number {
  return Math.fround(x * Math.fround(1 / (1 - p)));
}

/** Asserts y is exactly the dropout of x with the reference mask (0 where dropped). */
function assertExact(y: ArrayLike<number>, xv: Float32Array, p: number, seed: number, offset: number, bf16: boolean, what: string) {
  const keep = dropoutKeepRef(p, seed, offset, xv.length);
  const kept = new Float32Array(xv.length);
  for (let j = 0; j < xv.length; j++) kept[j] = keptF32(xv[j], p);
  const want = bf16 ? roundBf16(kept) : kept;
  for (let j = 0; j < xv.length; j++) {
    const w = keep[j] ? want[j] : 0;
    if (!Object.is(y[j], w))
      assert.unreachable(`${what}: at ${j} (${keep[j] ? 'kept' : 'dropped'}) got ${y[j]}, expected ${w} ${seedNote()}`);
  }
}

const ref = suite('Philox-4x32-10 reference');
ref('reproduces the Random123 known-answer vectors (tests/kat_vectors)', () => {
  const hex = (a: number[]) => a.map((v) => v.toString(16).padStart(8, '0')).join(' ');
  assert.is(hex(philox4x32_10([0, 0, 0, 0], [0, 0])), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  const f = 0xffffffff;
  assert.is(hex(philox4x32_10([f, f, f, f], [f, f])), '408f276d 41c83b0e a20bc7c6 6d5451fd');
  assert.is(hex(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    'd16cfe09 94fdcceb 5001e420 24126ea1');
});
if (!isLevelChild) ref.run();

deviceSuites('dropout', (test, device) => {
  for (const dtype of ['f32', 'bf16'] as const) {
    test(`exact mask and values against the reference, awkward sizes and offsets (${dtype})`, async () => {
      const r = rng();
      const prep = (v: Float32Array) => (dtype === 'bf16' ? roundBf16(v) : v);
      for (const n of SIZES) {
        // The big size once (at offset 0 and mid-block); the small ones at every offset.
        const offsets = n > 1000 ? [0, 3] : OFFSETS;
        for (const offset of offsets) {
          const p = [0.1, 0.5, 0.9][r.int(0, 3)];
          const seed = r.int(0, 2 ** 32) + (offset % 2) * 2 ** 40;  // keys with and without a high word
          const xv = prep(r.normals(n).map((v) => v + Math.sign(v) * 0.5));  // never 0, so 0 means dropped
          const x = Tensor.from(xv, [n], { dtype, device });
          const y = dropout(x, p, { seed, offset });
          assert.equal(y.shape, [n]);
          assert.is(y.dtype, dtype);
          const yv = await y.toArray();
          const what = `n=${n} p=${p} seed=${seed} offset=${offset}`;
          assertExact(yv, xv, p, seed, offset, dtype === 'bf16', what);
          // And against the float64 formula x·keep/(1 − p): one or two roundings of the dtype.
          assertClose(yv, dropoutRef(xv, p, seed, offset), dtype === 'bf16' ? 8e-3 : 2e-7, what);
        }
      }
    });

    test(`gradient: the same mask times 1/(1 − p) times dout (${dtype})`, async () => {
      const r = rng();
      const prep = (v: Float32Array) => (dtype === 'bf16' ? roundBf16(v) : v);
      for (const shape of [[7], [3, 65], [2, 129, 7]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const seed = r.int(0, 2 ** 31), offset = r.int(0, 1000), p = 0.3;
        const xv = prep(r.normals(n)), gv = prep(r.normals(n).map((v) => v + Math.sign(v) * 0.5));
        const x = Tensor.from(xv, shape, { dtype, device, requiresGrad: true });
        const y = dropout(x, p, { seed, offset });
        assert.equal(y.shape, shape);
        assert.ok(y.gradFn, 'dropout records when x requires grad');
        assert.equal(y.gradFn!.saved, [], 'nothing saved: the backward recomputes the mask');
        y.backward(Tensor.from(gv, shape, { dtype, device }));
        assertExact(await x.grad!.toArray(), gv, p, seed, offset, dtype === 'bf16', `grad [${shape}]`);
      }
    });
  }

  test('the kept fraction is 1 − p within 4 sigma over 1e5 elements', async () => {
    const n = 100000;
    const x = Tensor.ones([n], { device });
    for (const p of [0.05, 0.1, 0.5, 0.9]) {
      const seed = rng().int(0, 2 ** 32);
      const y = await dropout(x, p, { seed }).toArray();
      let kept = 0;
      for (let j = 0; j < n; j++) if (y[j] !== 0) kept++;
      const sigma = Math.sqrt(n * p * (1 - p));
      if (!(Math.abs(kept - n * (1 - p)) <= 4 * sigma))
        assert.unreachable(`p=${p} seed=${seed}: kept ${kept} of ${n}, expected ${n * (1 - p)} ± ${4 * sigma}`);
      // Every kept element is 1/(1 − p), so the mean is preserved in expectation.
      for (let j = 0; j < n; j++)
        if (y[j] !== 0 && y[j] !== keptF32(1, p)) assert.unreachable(`p=${p}: kept value ${y[j]} at ${j}`);
    }
  });

  test('the mask is a function of (seed, counter): same seed and offset agree, others differ', async () => {
    const n = 4099;
    const x = Tensor.from(rng().normals(n).map((v) => v + Math.sign(v)), [n], { device });
    const mask = async (seed: number, offset: number) =>
      Array.from(await dropout(x, 0.5, { seed, offset }).toArray(), (v) => (v !== 0 ? 1 : 0));
    const a = await mask(17, 100);
    assert.equal(await mask(17, 100), a, 'same seed and offset: same mask');
    const differs = (u: number[], v: number[]) => u.reduce((s, b, i) => s + (b !== v[i] ? 1 : 0), 0);
    // Independent masks of p = 0.5 differ in about half the places.
    for (const [seed, offset] of [[17, 101], [17, 100 + n], [18, 100], [17 + 2 ** 32, 100]]) {
      const d = differs(a, await mask(seed, offset));
      assert.ok(d > n / 2 - 4 * Math.sqrt(n / 4) && d < n / 2 + 4 * Math.sqrt(n / 4),
        `seed ${seed} offset ${offset}: ${d} of ${n} differ, expected about ${n / 2}`);
    }
    // The stream continues across calls: element k of a call at offset o is element 0 at o + k.
    const k = 37;
    const tail = Tensor.from((await x.toArray()).slice(k), [n - k], { device });
    const b = Array.from(await dropout(tail, 0.5, { seed: 17, offset: 100 + k }).toArray(), (v) => (v !== 0 ? 1 : 0));
    assert.equal(b, a.slice(k), 'offset o + k continues the stream of offset o');
  });

  test('p = 0 returns x itself; dropped elements are 0 even for infinite and NaN inputs', async () => {
    const x = Tensor.from([1, 2, 3], [3], { device, requiresGrad: true });
    assert.is(dropout(x, 0, { seed: 1 }), x);
    const n = 256;
    const xv = new Float32Array(n).map((_, j) => [Infinity, -Infinity, NaN, 2][j % 4]);
    const p = 0.5, seed = 99;
    const y = await dropout(Tensor.from(xv, [n], { device }), p, { seed }).toArray();
    const keep = dropoutKeepRef(p, seed, 0, n);
    for (let j = 0; j < n; j++) {
      const want = keep[j] ? keptF32(xv[j], p) : 0;
      if (!Object.is(y[j], want)) assert.unreachable(`at ${j}: got ${y[j]}, expected ${want}`);
    }
  });

  test('the native op may write in place (out = x)', async () => {
    const r = rng();
    const xv = r.normals(1001).map((v) => v + Math.sign(v));
    const x = Tensor.from(xv, [1001], { device });
    nat().dropout(x.handle, x.handle, 0.25, 5, 3);
    assertExact(await x.toArray(), xv, 0.25, 5, 3, false, 'in place');
  });

  if (isLevelChild) return;

  test('bad input names the op, the argument, expected and actual', async () => {
    const op = 'dropout';
    const x = Tensor.zeros([4], { device });
    await assertThrows(() => dropout(Tensor.zeros([3], { dtype: 'i32', device }), 0.1, { seed: 1 }), op, "'x'", 'f32 or bf16', 'i32');
    await assertThrows(() => dropout([1] as unknown as Tensor, 0.1, { seed: 1 }), op, "'x'", 'Tensor');
    for (const p of [1, -0.1, 1.5, NaN, Infinity])
      await assertThrows(() => dropout(x, p, { seed: 1 }), op, "'p'", '[0, 1)', String(p));
    await assertThrows(() => dropout(x, '0.1' as unknown as number, { seed: 1 }), op, "'p'", '[0, 1)', '"0.1"');
    await assertThrows(() => dropout(x, 0.1, undefined as unknown as { seed: number }), op, "'opts'", 'options object', 'undefined');
    await assertThrows(() => dropout(x, 0.1, {} as { seed: number }), op, "'seed'", 'integer', 'undefined');
    for (const seed of [-1, 1.5, 2 ** 53, NaN])
      await assertThrows(() => dropout(x, 0.1, { seed }), op, "'seed'", 'integer in [0, 9007199254740991]', String(seed));
    for (const offset of [-1, 0.5])
      await assertThrows(() => dropout(x, 0.1, { seed: 1, offset }), op, "'offset'", 'integer', String(offset));
    await assertThrows(() => dropout(x, 0.1, { seed: 1, offset: 2 ** 53 - 3 }), op, "'offset'", 'an offset with offset + numel <= 2^53 (numel 4)', String(2 ** 53 - 3));
    // The native side re-checks.
    const h = (t: Tensor) => t.handle;
    await assertThrows(() => nat().dropout(h(Tensor.empty([5], { device })), h(x), 0.1, 1, 0), op, "'out'", '[4]', '[5]');
    await assertThrows(() => nat().dropout(h(Tensor.empty([4], { dtype: 'bf16', device })), h(x), 0.1, 1, 0), op, "'out'", 'f32', 'bf16');
    await assertThrows(() => nat().dropout(h(Tensor.empty([4], { device })), h(x), 1, 1, 0), op, "'p'", '[0, 1)', '1');
    await assertThrows(() => nat().dropout(h(Tensor.empty([4], { device })), h(x), 0.1, -1, 0), op, "'seed'", '[0, 2^53)', '-1');
    await assertThrows(() => nat().dropout(h(Tensor.empty([4], { device })), h(x), 0.1, 1, 2 ** 53 - 2), op, "'offset'", '2^53');
    if (device !== 'cpu') await assertThrows(() => nat().dropout(h(Tensor.empty([4])), h(x), 0.1, 1, 0), op, "'out'", device);
  });
});

cpuLevelSuite('dropout', __filename);
