/** softmaxCrossEntropy: loss and dlogits against the float64 reference, options, hazards, bad input. */
import * as assert from 'uvu/assert';

import { native, NativeTensor } from '../lib/native';
import { numThreads, ops, setNumThreads, Tensor } from '../lib/index';
import { softmaxCrossEntropy } from '../lib/ops/crossEntropy';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { Rng, rng, roundBf16, seedNote } from './helpers/random';
import { cpuLevelSuite } from './cpuLevels';
import { crossEntropyRef } from './reference/crossEntropy';

// The loss is a mean of N row losses each computed in f32 from an exp sum (relative error ~1e-6)
// and accumulated in double: 1e-5 relative leaves an order of magnitude of margin.
const LOSS_TOL = 1e-5;

const CASES: [number, number][] = [
  [1, 1], [7, 2], [63, 65], [129, 1000], [1, 2], [7, 1000], [129, 65], [63, 1], [3, 50257], [129, 2049],
];

/** Targets in [0, V), with about a fifth of the rows set to ignoreIndex. */
function targetsFor(r: Rng, N: number, V: number, ignoreIndex: number): Int32Array {
  const t = r.ints(N, 0, V);
  for (let i = 0; i < N; i++) if (r.next() < 0.2) t[i] = ignoreIndex;
  return t;
}

function scalarClose(actual: number, expected: number, tol: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected))))
    assert.unreachable(`${what}: got ${actual}, expected ${expected} ${seedNote()}`);
}

deviceSuites('softmaxCrossEntropy', (test, device) => {
  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = tolFor(dtype);
    // bf16: the inputs are rounded before the reference sees them, so only the f32 arithmetic and
    // the bf16 rounding of dlogits differ; the loss stays f32.
    const lossTol = dtype === 'bf16' ? 1e-4 : LOSS_TOL;
    const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);

    for (const reduction of ['mean', 'sum'] as const) {
      test(`loss and dlogits, ${reduction}, ignored rows (${dtype})`, async () => {
        const r = rng();
        for (const [N, V] of CASES) {
          const xv = prep(r.normals(N * V, 3));
          const tv = targetsFor(r, N, V, -100);
          const x = Tensor.from(xv, [N, V], { dtype, device, requiresGrad: true });
          const t = Tensor.from(tv, [N], { device });
          const loss = softmaxCrossEntropy(x, t, { reduction });
          assert.equal(loss.shape, []);
          assert.is(loss.dtype, 'f32');
          const ref = crossEntropyRef(xv, tv, V, -100, reduction);
          scalarClose(await loss.item(), ref.loss, lossTol, `loss N=${N} V=${V}`);
          loss.backward();
          // p - 1 for a target whose probability is near 1 cancels: its f32 error is a few ulps of 1,
          // not of the (tiny) result, so allow 8 ulps of 1 per counted row (divided by the mean's count).
          const valid = Array.from(tv).filter((t) => t !== -100).length;
          const floor = (8 * 2 ** -24 * Math.sqrt(valid)) / (reduction === 'mean' ? Math.max(valid, 1) : 1);
          assertClose(await x.grad!.toArray(), ref.dlogits, tol, `dlogits N=${N} V=${V}`, floor);
        }
      });
    }

    test(`leading dimensions, a custom ignoreIndex and an upstream gradient (${dtype})`, async () => {
      const r = rng();
      const [B, T, V] = [3, 43, 65];
      const xv = prep(r.normals(B * T * V, 2));
      const tv = targetsFor(r, B * T, V, 0);  // ignoreIndex inside [0, V): target 0 rows are skipped
      const x = Tensor.from(xv, [B, T, V], { dtype, device, requiresGrad: true });
      const loss = softmaxCrossEntropy(x, Tensor.from(tv, [B, T], { device }), { ignoreIndex: 0 });
      const ref = crossEntropyRef(xv, tv, V, 0, 'mean');
      scalarClose(await loss.item(), ref.loss, lossTol, 'loss');
      // A non-constant upstream gradient (2.5 · loss): the saved gradient is multiplied on the device.
      ops.scale(loss, 2.5).backward();
      assertClose(await x.grad!.toArray(), ref.dlogits.map((v) => 2.5 * v), tol, 'dlogits · 2.5');
      assert.equal(x.grad!.shape, [B, T, V]);
    });

    test(`every row ignored: loss 0 and zero gradients, never NaN (${dtype})`, async () => {
      for (const reduction of ['mean', 'sum'] as const) {
        const x = Tensor.from(rng().normals(7 * 65), [7, 65], { dtype, device, requiresGrad: true });
        const loss = softmaxCrossEntropy(x, Tensor.full([7], -100, { dtype: 'i32', device }), { reduction });
        assert.is(await loss.item(), 0, `${reduction} loss`);
        loss.backward();
        assertClose(await x.grad!.toArray(), new Float64Array(7 * 65), 0, `${reduction} dlogits`);
      }
    });

    test(`inPlace writes the gradient over the logits (${dtype})`, async () => {
      const r = rng();
      for (const [N, V] of [[63, 1000], [3, 50257], [7, 1]]) {
        const xv = prep(r.normals(N * V, 3));
        const tv = targetsFor(r, N, V, -100);
        const leaf = Tensor.from(xv, [N, V], { dtype, device, requiresGrad: true });
        const logits = ops.scale(leaf, 1);  // an intermediate, as the output of an LM head
        const loss = softmaxCrossEntropy(logits, Tensor.from(tv, [N], { device }), { inPlace: true });
        const ref = crossEntropyRef(xv, tv, V);
        scalarClose(await loss.item(), ref.loss, lossTol, `loss N=${N} V=${V}`);
        assertClose(await logits.toArray(), ref.dlogits, tol, `logits now hold dlogits, N=${N} V=${V}`);
        loss.backward();
        assertClose(await leaf.grad!.toArray(), ref.dlogits, tol, `leaf grad N=${N} V=${V}`);
      }
    });

    test(`extreme logits (±1e4) give finite, exact results (${dtype})`, async () => {
      const r = rng();
      const [N, V] = [129, 65];
      const xv = r.normals(N * V, 3);
      for (let i = 0; i < xv.length; i++) {
        const u = r.next();
        if (u < 0.1) xv[i] = 1e4;
        else if (u < 0.3) xv[i] = -1e4;
      }
      const tv = targetsFor(r, N, V, -100);
      const pv = prep(xv);
      const x = Tensor.from(pv, [N, V], { dtype, device, requiresGrad: true });
      const loss = softmaxCrossEntropy(x, Tensor.from(tv, [N], { device }), { reduction: 'sum' });
      const ref = crossEntropyRef(pv, tv, V, -100, 'sum');
      scalarClose(await loss.item(), ref.loss, lossTol, 'loss');
      loss.backward();
      assertClose(await x.grad!.toArray(), ref.dlogits, tol, 'dlogits');  // assertClose rejects NaN and inf
    });
  }

  test('small vocabularies: the row-blocked path at its thresholds, ignored rows, in place, every level', async () => {
    // V <= 512 takes the row-blocked kernel: rows of at least one vector (8 lanes with AVX2, 16 with
    // AVX-512) overlap their last vector with the one before it, shorter rows use masked tails; rows
    // go 4 at a time in blocks of a power of two rows (64 at V <= 64, 32 at V = 65, 8 at V = 512),
    // a fully masked remainder one by one. N covers one row, a partial group of 4, partial blocks, and
    // ignored rows breaking the groups (targetsFor ignores about a fifth).
    const r = rng();
    const Vs = [7, 8, 9, 15, 16, 17, 24, 31, 33, 64, 65, 127, 129, 511, 512, 513];
    for (const dtype of ['f32', 'bf16'] as const) {
      const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
      for (const V of Vs) {
        for (const N of [1, 3, 5, 37, 131]) {
          const xv = prep(r.normals(N * V, 3));
          const tv = targetsFor(r, N, V, -100);
          const ref = crossEntropyRef(xv, tv, V);
          const valid = Array.from(tv).filter((t) => t !== -100).length;
          const floor = (8 * 2 ** -24 * Math.sqrt(valid)) / Math.max(valid, 1);
          for (const inPlace of [false, true]) {
            const leaf = Tensor.from(xv, [N, V], { dtype, device, requiresGrad: true });
            const logits = inPlace ? ops.scale(leaf, 1) : leaf;
            const loss = softmaxCrossEntropy(logits, Tensor.from(tv, [N], { device }), { inPlace });
            scalarClose(await loss.item(), ref.loss, dtype === 'bf16' ? 1e-4 : LOSS_TOL, `loss ${dtype} N=${N} V=${V} inPlace=${inPlace}`);
            loss.backward();
            assertClose(await leaf.grad!.toArray(), ref.dlogits, tolFor(dtype), `dlogits ${dtype} N=${N} V=${V} inPlace=${inPlace}`, floor);
          }
        }
        // Every row ignored, in a full block and a partial one.
        const N = 70;
        const x = Tensor.from(prep(r.normals(N * V)), [N, V], { dtype, device, requiresGrad: true });
        const loss = softmaxCrossEntropy(x, Tensor.full([N], -100, { dtype: 'i32', device }));
        assert.is(await loss.item(), 0, `all ignored V=${V}`);
        loss.backward();
        assertClose(await x.grad!.toArray(), new Float64Array(N * V), 0, `all ignored dlogits V=${V}`);
      }
    }
  });

  test('small vocabularies: -inf logits get exactly zero probability, finite loss', async () => {
    const r = rng();
    for (const V of [9, 65]) {
      const N = 37;
      const xv = r.normals(N * V, 2);
      for (let i = 0; i < xv.length; i++) if (r.next() < 0.3) xv[i] = -Infinity;
      const tv = r.ints(N, 0, V);
      for (let i = 0; i < N; i++) {
        // the target and one more logit per row stay finite
        xv[i * V + tv[i]] = r.next();
        xv[i * V + ((tv[i] + 1) % V)] = r.next();
      }
      const ref = crossEntropyRef(xv, tv, V);
      const x = Tensor.from(xv, [N, V], { device, requiresGrad: true });
      const loss = softmaxCrossEntropy(x, Tensor.from(tv, [N], { device }));
      scalarClose(await loss.item(), ref.loss, LOSS_TOL, `loss V=${V}`);
      loss.backward();
      const g = await x.grad!.toArray();
      assertClose(g, ref.dlogits, 1e-4, `dlogits V=${V}`);
      for (let i = 0; i < xv.length; i++)
        if (xv[i] === -Infinity && g[i] !== 0) assert.unreachable(`dlogits[${i}] = ${g[i]} for a -inf logit, V=${V}`);
    }
  });

  if (device === 'cpu')
    test('the loss does not depend on the thread count (small and large vocabularies)', async () => {
      const r = rng();
      const before = numThreads();
      try {
        for (const [N, V] of [[768, 65], [300, 9], [40, 3000]]) {
          const xv = r.normals(N * V, 3);
          const tv = targetsFor(r, N, V, -100);
          const losses: number[] = [];
          for (const threads of [1, 2, 3]) {
            setNumThreads(threads);
            losses.push(await softmaxCrossEntropy(Tensor.from(xv, [N, V]), Tensor.from(tv, [N])).item());
          }
          assert.equal(losses, [losses[0], losses[0], losses[0]], `N=${N} V=${V}: the same loss bits on 1, 2 and 3 threads`);
        }
      } finally {
        setNumThreads(before);
      }
    });

  test('a gradient bigger than the caches (the non-temporal store path), separate and in place', async () => {
    // 90 × 50257 f32 = 18.1 MB: above the kernel's 16 MiB threshold for streaming stores (taken when
    // the gradient is a separate tensor; in place, the same size takes the plain-store path).
    const r = rng();
    const [N, V] = [90, 50257];
    const xv = r.normals(N * V, 3);
    const tv = targetsFor(r, N, V, -100);
    const ref = crossEntropyRef(xv, tv, V);
    for (const inPlace of [false, true]) {
      const x = Tensor.from(xv, [N, V], { device, requiresGrad: true });
      const loss = softmaxCrossEntropy(x, Tensor.from(tv, [N], { device }), { inPlace });
      scalarClose(await loss.item(), ref.loss, LOSS_TOL, `loss inPlace=${inPlace}`);
      loss.backward();
      assertClose(await x.grad!.toArray(), ref.dlogits, 1e-4, `dlogits inPlace=${inPlace}`);
      x.grad!.dispose();
      x.dispose();
    }
  });

  test('without grad: the loss only, nothing recorded', async () => {
    const r = rng();
    const xv = r.normals(7 * 65);
    const tv = r.ints(7, 0, 65);
    const loss = softmaxCrossEntropy(Tensor.from(xv, [7, 65], { device }), Tensor.from(tv, [7], { device }));
    assert.is(loss.requiresGrad, false);
    assert.is(loss.gradFn, null);
    scalarClose(await loss.item(), crossEntropyRef(xv, tv, 65).loss, LOSS_TOL, 'loss');
  });

  test('an out-of-range target is a deferred error naming the row and the value', async () => {
    const x = Tensor.from(rng().normals(4 * 5), [4, 5], { device, requiresGrad: true });
    for (const [bad, row] of [[5, 2], [-1, 3]]) {
      const tv = new Int32Array([0, 1, 2, 3]);
      tv[row] = bad;
      const loss = softmaxCrossEntropy(x, Tensor.from(tv, [4], { device }));
      await assertThrows(() => loss.item(), 'softmaxCrossEntropy', `row ${row}`, `got ${bad}`, '[0, 5)');
    }
    // The stream is usable again after the error was reported.
    const ok = softmaxCrossEntropy(x, Tensor.from(new Int32Array([0, 1, 2, 3]), [4], { device }));
    assert.ok(Number.isFinite(await ok.item()));
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const x = Tensor.zeros([4, 5], { device });
    const t = Tensor.zeros([4], { dtype: 'i32', device });
    const op = 'softmaxCrossEntropy';
    await assertThrows(() => softmaxCrossEntropy(Tensor.zeros([4, 5], { dtype: 'i32', device }), t), op, "'logits'", 'f32 or bf16', 'i32');
    await assertThrows(() => softmaxCrossEntropy(x, Tensor.zeros([4], { device })), op, "'targets'", 'i32', 'f32');
    await assertThrows(() => softmaxCrossEntropy(x, Tensor.zeros([5], { dtype: 'i32', device })), op, "'targets'", '[4]', '[5]');
    await assertThrows(() => softmaxCrossEntropy(Tensor.zeros([], { device }), t), op, "'logits'", '[..., V]', '[]');
    await assertThrows(() => softmaxCrossEntropy(Tensor.zeros([4, 0], { device }), t), op, "'logits'", 'V >= 1', '[4, 0]');
    await assertThrows(() => softmaxCrossEntropy(x, t, { reduction: 'avg' as 'mean' }), op, "'reduction'", '"mean" or "sum"', '"avg"');
    await assertThrows(() => softmaxCrossEntropy(x, t, { ignoreIndex: 1.5 }), op, "'ignoreIndex'", 'integer', '1.5');
    await assertThrows(() => softmaxCrossEntropy(x, t, { ignoreIndex: 2 ** 31 }), op, "'ignoreIndex'", 'integer', String(2 ** 31));
    await assertThrows(() => softmaxCrossEntropy(x, t, { inPlace: 1 as unknown as boolean }), op, "'inPlace'", 'boolean', '1');
    await assertThrows(() => softmaxCrossEntropy(x, [0, 1] as unknown as Tensor), op, "'targets'", 'Tensor', 'array');
    const gone = Tensor.zeros([4], { dtype: 'i32', device });
    gone.dispose();
    await assertThrows(() => softmaxCrossEntropy(x, gone), op, "'targets'", 'disposed');
    if (device !== 'cpu')
      await assertThrows(() => softmaxCrossEntropy(x, Tensor.zeros([4], { dtype: 'i32' })), op, "'targets'", device, 'cpu');
  });

  test('the native side re-checks its arguments', async () => {
    const nat = native<{ softmaxCrossEntropy(...a: unknown[]): void }>();
    const x = Tensor.zeros([4, 5], { device });
    const t = Tensor.zeros([4], { dtype: 'i32', device });
    const loss = Tensor.empty([], { device }), count = Tensor.empty([], { device });
    const h = (a: Tensor): NativeTensor => a.handle;
    const op = 'softmaxCrossEntropy';
    await assertThrows(() => nat.softmaxCrossEntropy(h(loss), h(count), null, h(x), h(Tensor.zeros([3], { dtype: 'i32', device })), -100, true),
      op, "'targets'", '[4]', '[3]');
    await assertThrows(() => nat.softmaxCrossEntropy(h(loss), h(count), h(Tensor.empty([4, 5], { dtype: 'bf16', device })), h(x), h(t), -100, true),
      op, "'dlogits'", 'f32', 'bf16');
    // dlogits may be the logits exactly, but not a shifted window of the same memory.
    const big = Tensor.zeros([25], { device });
    const logits = native().view(big.handle, [4, 5], 0), shifted = native().view(big.handle, [4, 5], 5);
    await assertThrows(() => nat.softmaxCrossEntropy(h(loss), h(count), shifted, logits, h(t), -100, true),
      op, "'dlogits'", 'overlaps');
    await assertThrows(() => nat.softmaxCrossEntropy(h(loss), h(loss), null, h(x), h(t), -100, true), op, "'loss'", 'overlaps');
    await assertThrows(() => nat.softmaxCrossEntropy(h(loss), h(count), null, h(x), h(t), 2 ** 40, true), op, "'ignoreIndex'", 'int32');
  });
});

cpuLevelSuite('softmaxCrossEntropy', __filename);
