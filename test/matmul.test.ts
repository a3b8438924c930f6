/**
 * matmul and linear: values against float64 references for every transpose combination, awkward
 * sizes, batches (shared and batched b), bias, the GELU epilogue with its pre-activation, alpha/beta,
 * bf16, sizes that cross the kernel's cache blocks and thread splits; gradients against the reference
 * backward and finite differences; bad input. The forward suite is re-run in child processes with
 * GLM_CPU_LEVEL capped at each lower instruction-set level (AVX2, scalar), so every micro-kernel is
 * checked on this machine.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';

import { buildInfo, Tensor } from '../lib/index';
import { native, NativeTensor } from '../lib/native';
import { linear, matmul } from '../lib/ops/matmul';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { Rng, rng, roundBf16 } from './helpers/random';
import { matmulBackwardRef, matmulRef, MatmulSpec } from './reference/matmul';

interface MatmulNative {
  matmul(out: NativeTensor, preact: NativeTensor | null, a: NativeTensor, b: NativeTensor, bias: NativeTensor | null,
    transA: boolean, transB: boolean, alpha: number, beta: number, activation: string): void;
}
const nat = () => native<MatmulNative>();

/** Set in the child processes that re-run the forward tests at a lower CPU level. */
const CHILD_LEVEL = process.env.GLM_MATMUL_TEST_CHILD;
const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;
type DType = 'f32' | 'bf16';

/** Random inputs for a spec, as JS arrays (bf16-rounded when needed) and tensors. */
/**
 * Differentiable operands of a (possibly batched, leading dims `lead`) product with a bias, and a
 * random output gradient; values rounded to bf16 when dtype is bf16 so the reference sees the same.
 */
function gradOperands(r: Rng, device: string, dtype: DType, lead: number[],
  c: { M: number; K: number; N: number; transA: boolean; transB: boolean; batchedB: boolean }) {
  const { M, K, N, transA, transB, batchedB } = c;
  const batch = lead.reduce((x, y) => x * y, 1);
  const s: MatmulSpec = { batch, M, K, N, transA, transB, batchedB };
  const { av, bv, outShape } = makeOperands(r, device, dtype, s, lead);
  const aShape = [...lead, transA ? K : M, transA ? M : K];
  const bShape = [...(batchedB ? lead : []), transB ? N : K, transB ? K : N];
  const a = Tensor.from(av, aShape, { dtype, device, requiresGrad: true });
  const b = Tensor.from(bv, bShape, { dtype, device, requiresGrad: true });
  const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
  const biasv = prep(r.normals(N));
  const gv = prep(r.normals(batch * M * N));
  const bias = Tensor.from(biasv, [N], { dtype, device, requiresGrad: true });
  return { s, av, bv, a, b, biasv, bias, gv, outShape };
}

/** The gradients of a, b and bias against the reference backward's. */
async function assertGrads(t: { a: Tensor; b: Tensor; bias: Tensor }, ref: { da: ArrayLike<number>; db: ArrayLike<number>; dbias: ArrayLike<number>; dbiasTermNorm?: number }, tol: number, what: string) {
  assertClose(await t.a.grad!.toArray(), ref.da, tol, `${what} da`);
  assertClose(await t.b.grad!.toArray(), ref.db, tol, `${what} db`);
  // dbias sums every row of dOut: where the sum cancels (e.g. 0.037 from 32 terms of ~1, bf16), its
  // error is the terms' rounding, so the floor is the tolerance times the terms' norm.
  assertClose(await t.bias.grad!.toArray(), ref.dbias, tol, `${what} dbias`, tol * (ref.dbiasTermNorm ?? 0));
}

function makeOperands(r: Rng, device: string, dtype: DType, s: MatmulSpec, lead: number[] = s.batch > 1 ? [s.batch] : []) {
  const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
  // Uniform rather than normal values: cheaper to draw for the large operands.
  const av = prep(r.uniforms(s.batch * s.M * s.K));
  const bv = prep(r.uniforms((s.batchedB ? s.batch : 1) * s.K * s.N));
  const aShape = [...lead, s.transA ? s.K : s.M, s.transA ? s.M : s.K];
  const bShape = [...(s.batchedB ? lead : []), s.transB ? s.N : s.K, s.transB ? s.K : s.N];
  const a = Tensor.from(av, aShape, { dtype, device });
  const b = Tensor.from(bv, bShape, { dtype, device });
  return { av, bv, a, b, outShape: [...lead, s.M, s.N] };
}

const SIZES: [number, number, number][] = [
  // M, K, N
  [1, 1, 1], [1, 7, 65], [7, 1, 63], [63, 65, 129], [65, 129, 7], [129, 63, 1], [14, 32, 32], [15, 33, 17],
  [6, 16, 16], [13, 31, 33], [29, 17, 47],
  // At most 4 rows: B is streamed unpacked on AVX-512 (with threads from 2^21 multiply-adds on).
  [2, 33, 67], [3, 70, 5], [4, 17, 260], [1, 1100, 2000], [3, 700, 1300],
];

deviceSuites(CHILD_LEVEL ? `matmul (GLM_CPU_LEVEL=${CHILD_LEVEL})` : 'matmul', (test, device) => {
  if (CHILD_LEVEL && device === 'cpu') {
    test('runs at the requested CPU level', () => {
      assert.is(buildInfo().cpuLevel, CHILD_LEVEL);
    });
  }

  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = tolFor(dtype);

    test(`every transpose combination, awkward sizes, with and without bias (${dtype})`, async () => {
      const r = rng();
      for (const [M, K, N] of SIZES)
        for (const [transA, transB] of TRANSPOSES)
          for (const withBias of [false, true]) {
            const s: MatmulSpec = { batch: 1, M, K, N, transA, transB };
            const { av, bv, a, b, outShape } = makeOperands(r, device, dtype, s);
            const biasv = dtype === 'bf16' ? roundBf16(r.normals(N)) : r.normals(N);
            const bias = withBias ? Tensor.from(biasv, [N], { dtype, device }) : undefined;
            const out = matmul(a, b, { transA, transB, bias });
            assert.equal(out.shape, outShape);
            assert.is(out.dtype, dtype);
            const ref = matmulRef(av, bv, s, { bias: withBias ? biasv : undefined });
            assertClose(await out.toArray(), ref.out, tol, `${M}x${K}x${N} tA=${transA} tB=${transB} bias=${withBias}`);
          }
    });

    test(`GELU epilogue writes the pre-activation; alpha and beta (${dtype})`, async () => {
      const r = rng();
      // 100 x 800 x 70 crosses K blocks (partial sums between them) and uses both threads.
      for (const [M, K, N] of [[1, 1, 1], [3, 40, 50], [63, 65, 129], [17, 5, 33], [100, 800, 70]] as [number, number, number][])
        for (const [transA, transB] of TRANSPOSES) {
          const s: MatmulSpec = { batch: 1, M, K, N, transA, transB };
          const { av, bv, a, b, outShape } = makeOperands(r, device, dtype, s);
          const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
          const biasv = prep(r.normals(N));
          const c0 = prep(r.normals(M * N));
          const bias = Tensor.from(biasv, [N], { dtype, device });
          const out = Tensor.from(c0, outShape, { dtype, device });
          const pre = Tensor.empty(outShape, { dtype, device });
          nat().matmul(out.handle, pre.handle, a.handle, b.handle, bias.handle, transA, transB, 0.75, -1.5, 'gelu');
          const ref = matmulRef(av, bv, s, { bias: biasv, gelu: true, alpha: 0.75, beta: -1.5, c0 });
          const what = `${M}x${K}x${N} tA=${transA} tB=${transB}`;
          assertClose(await out.toArray(), ref.out, tol, `${what} out`);
          assertClose(await pre.toArray(), ref.preact, tol, `${what} preact`);
          // The public API's epilogue (no preact unless a gradient needs it).
          const y = matmul(a, b, { transA, transB, bias, activation: 'gelu' });
          assertClose(await y.toArray(), matmulRef(av, bv, s, { bias: biasv, gelu: true }).out, tol, `${what} api`);
        }
    });

    // At most 8 rows (AVX2) or 4 (AVX-512), B is streamed unpacked (native/cpu/gemm_small*.cpp): every
    // row count up to and past both limits, K with a tail (K % 8 and K % 16 != 0), N with a tail of the
    // 4-column dot groups and of the 8/16-wide epilogue, N < 4, and K long enough for threads. This
    // suite runs at every CPU level (the child runs below), so AVX2's path is checked on any machine.
    test(`few rows (M <= 9): epilogue, alpha/beta, pre-activation, every transpose (${dtype})`, async () => {
      const r = rng();
      const KN: [number, number][] = [[1, 1], [7, 3], [13, 5], [33, 67], [70, 260], [9, 37], [300, 2], [1100, 2000]];
      for (let M = 1; M <= 9; M++)
        for (let c = 0; c < KN.length; c++) {
          const [K, N] = KN[(c + M) % KN.length];
          for (const [transA, transB] of TRANSPOSES) {
            const s: MatmulSpec = { batch: 1, M, K, N, transA, transB };
            const { av, bv, a, b, outShape } = makeOperands(r, device, dtype, s);
            const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
            const biasv = prep(r.normals(N));
            const bias = Tensor.from(biasv, [N], { dtype, device });
            const what = `${M}x${K}x${N} tA=${transA} tB=${transB}`;
            // With K = 300 and N = 2 every pre-activation can be far below 0, where GELU's output is
            // ~1e-16 and float32 rounding of its tail is large relative to it: allow 1e-2 tol absolute.
            const floor = tol * 1e-2 * Math.sqrt(M * N);
            // beta = 0: out is fresh (NaN-poisoned) memory that must not be read.
            const gelu = (M + c) % 2 === 0;
            const out0 = Tensor.empty(outShape, { dtype, device });
            const pre0 = Tensor.empty(outShape, { dtype, device });
            nat().matmul(out0.handle, pre0.handle, a.handle, b.handle, bias.handle, transA, transB, 1, 0, gelu ? 'gelu' : 'none');
            const ref0 = matmulRef(av, bv, s, { bias: biasv, gelu });
            assertClose(await out0.toArray(), ref0.out, tol, `${what} gelu=${gelu} out`, floor);
            assertClose(await pre0.toArray(), ref0.preact, tol, `${what} gelu=${gelu} preact`);
            // alpha, beta (reads out), no bias.
            const c0 = prep(r.normals(M * N));
            const out1 = Tensor.from(c0, outShape, { dtype, device });
            nat().matmul(out1.handle, null, a.handle, b.handle, null, transA, transB, -0.5, 2, 'gelu');
            const ref1 = matmulRef(av, bv, s, { gelu: true, alpha: -0.5, beta: 2, c0 });
            assertClose(await out1.toArray(), ref1.out, tol, `${what} alpha/beta`, floor);
          }
        }
    });

    test(`few rows: batches with shared and batched b; GELU backward through the pre-activation (${dtype})`, async () => {
      const r = rng();
      for (const [lead, M, K, N] of [[[3], 2, 19, 13], [[2, 2], 8, 40, 3], [[2], 5, 9, 66], [[3], 9, 17, 9]] as [number[], number, number, number][])
        for (const batchedB of [false, true])
          for (const [transA, transB] of TRANSPOSES) {
            const { s, av, bv, a, b, biasv, bias, gv, outShape } = gradOperands(r, device, dtype, lead, { M, K, N, transA, transB, batchedB });
            const out = matmul(a, b, { transA, transB, bias, activation: 'gelu' });
            const what = `[${lead}] ${M}x${K}x${N} batchedB=${batchedB} tA=${transA} tB=${transB}`;
            assertClose(await out.toArray(), matmulRef(av, bv, s, { bias: biasv, gelu: true }).out, tol, `${what} out`);
            out.backward(Tensor.from(gv, outShape, { dtype, device }));
            const roundPreact = dtype === 'bf16' ? (x: number) => roundBf16(Float32Array.of(x))[0] : undefined;
            const ref = matmulBackwardRef(av, bv, gv, s, { bias: biasv, gelu: true, roundPreact });
            await assertGrads({ a, b, bias }, ref, tol, what);
          }
    });

    test(`batches: shared b (one tall GEMM or per item) and batched b (${dtype})`, async () => {
      const r = rng();
      const cases: [number[], number, number, number][] = [
        [[2, 3], 7, 65, 33], // tiny: one thread
        [[4, 2], 60, 70, 80], // small items: one item per thread
        [[3], 1, 17, 1],
        [[2], 160, 130, 150], // large items: threads inside each item
      ];
      for (const [lead, M, K, N] of cases)
        for (const batchedB of [false, true])
          for (const [transA, transB] of TRANSPOSES) {
            const batch = lead.reduce((x, y) => x * y, 1);
            const s: MatmulSpec = { batch, M, K, N, transA, transB, batchedB };
            const { av, bv, a, b, outShape } = makeOperands(r, device, dtype, s, lead);
            const biasv = dtype === 'bf16' ? roundBf16(r.normals(N)) : r.normals(N);
            const out = matmul(a, b, { transA, transB, bias: Tensor.from(biasv, [N], { dtype, device }) });
            assert.equal(out.shape, outShape);
            const ref = matmulRef(av, bv, s, { bias: biasv });
            assertClose(await out.toArray(), ref.out, tol, `[${lead}] ${M}x${K}x${N} batchedB=${batchedB} tA=${transA} tB=${transB}`);
          }
    });

    test(`sizes that cross cache blocks and split across threads (${dtype})`, async () => {
      const r = rng();
      // K 1200: 4 K blocks. N 1500: more than one B block per thread. M 2900 with bf16: more than one
      // A block (its f32 partial-sum workspace is bounded). 5600 x 3 x 9: one thin A block split by rows.
      const cases: [number, number, number, boolean, boolean][] = [
        [40, 1200, 90, false, true],
        [30, 400, 1500, true, false],
        [700, 100, 300, false, false],
        [5600, 3, 9, false, true],
        [20, 1024, 40, false, false], // rows 4 KiB apart: copied, not read in place
      ];
      for (const [M, K, N, transA, transB] of cases) {
        const s: MatmulSpec = { batch: 1, M, K, N, transA, transB };
        const { av, bv, a, b } = makeOperands(r, device, dtype, s);
        const out = matmul(a, b, { transA, transB, activation: 'gelu' });
        assertClose(await out.toArray(), matmulRef(av, bv, s, { gelu: true }).out, tol, `${M}x${K}x${N}`);
      }
    });

    test(`K = 0 gives bias (+ beta · out) and empty outputs are fine (${dtype})`, async () => {
      const r = rng();
      const a = Tensor.from([], [3, 0], { dtype, device });
      const b = Tensor.from([], [0, 5], { dtype, device });
      const biasv = roundBf16(r.normals(5));
      const out = matmul(a, b, { bias: Tensor.from(biasv, [5], { dtype, device }), activation: 'gelu' });
      const ref = matmulRef(new Float32Array(0), new Float32Array(0), { batch: 1, M: 3, K: 0, N: 5 }, { bias: biasv, gelu: true });
      assertClose(await out.toArray(), ref.out, tol, 'K = 0');
      const empty = matmul(Tensor.zeros([0, 4], { dtype, device }), Tensor.zeros([4, 6], { dtype, device }));
      assert.equal(empty.shape, [0, 6]);
      assert.is((await empty.toArray()).length, 0);
    });
  }

  if (CHILD_LEVEL) return;

  for (const dtype of ['f32', 'bf16'] as const) {
    const tol = tolFor(dtype);

    test(`gradients against the reference backward (${dtype})`, async () => {
      const r = rng();
      const cases: [number[], number, number, number, boolean][] = [
        [[], 7, 65, 33, false],
        [[], 1, 1, 1, false],
        [[2, 3], 5, 9, 17, false], // shared b: dB is one GEMM over (batch·M, K), or a sum with transA
        [[3], 13, 1, 7, true],
        [[], 63, 129, 65, false],
      ];
      for (const [lead, M, K, N, batchedB] of cases)
        for (const [transA, transB] of TRANSPOSES)
          for (const gelu of [false, true]) {
            const { s, av, bv, a, b, biasv, bias, gv, outShape } = gradOperands(r, device, dtype, lead, { M, K, N, transA, transB, batchedB });
            const out = matmul(a, b, { transA, transB, bias, activation: gelu ? 'gelu' : undefined });
            out.backward(Tensor.from(gv, outShape, { dtype, device }));
            const roundPreact = dtype === 'bf16' ? (x: number) => roundBf16(Float32Array.of(x))[0] : undefined;
            const ref = matmulBackwardRef(av, bv, gv, s, { bias: biasv, gelu, roundPreact });
            const what = `[${lead}] ${M}x${K}x${N} batchedB=${batchedB} tA=${transA} tB=${transB} gelu=${gelu}`;
            await assertGrads({ a, b, bias }, ref, tol, what);
          }
    });
  }

  test('linear is x·weightᵀ + bias with weight [out, in], differentiable, also for a vector x', async () => {
    const r = rng();
    for (const lead of [[], [4], [2, 3]]) {
      const xin = 19, xout = 37;
      const xv = r.normals(lead.reduce((p, q) => p * q, 1) * xin);
      const wv = r.normals(xout * xin), bv = r.normals(xout);
      const x = Tensor.from(xv, lead.length ? [...lead, xin] : [xin], { device, requiresGrad: true });
      const w = Tensor.from(wv, [xout, xin], { device, requiresGrad: true });
      const bias = Tensor.from(bv, [xout], { device, requiresGrad: true });
      const y = linear(x, w, bias);
      assert.equal(y.shape, [...lead, xout]);
      const batch = lead.reduce((p, q) => p * q, 1);
      const s: MatmulSpec = { batch: 1, M: batch, K: xin, N: xout, transB: true };
      assertClose(await y.toArray(), matmulRef(xv, wv, s, { bias: bv }).out, 1e-4, `linear [${lead}]`);
      const gv = r.normals(batch * xout);
      y.backward(Tensor.from(gv, y.shape, { device }));
      const ref = matmulBackwardRef(xv, wv, gv, s, { bias: bv });
      assertClose(await x.grad!.toArray(), ref.da, 1e-4, 'linear dx');
      assertClose(await w.grad!.toArray(), ref.db, 1e-4, 'linear dweight');
      assertClose(await bias.grad!.toArray(), ref.dbias, 1e-4, 'linear dbias');
    }
  });

  test('gradient of a small case matches finite differences (f32)', async () => {
    const r = rng();
    const s: MatmulSpec = { batch: 2, M: 3, K: 4, N: 5, transA: true, batchedB: false };
    const av = r.normals(24), bv = r.normals(20), biasv = r.normals(5), gv = r.normals(30);
    // loss(a, b, bias) = Σ g · gelu(op(a)·b + bias), evaluated in float64.
    const loss = (x: Float32Array | Float64Array, y: Float32Array | Float64Array, z: Float32Array | Float64Array) => {
      const { out } = matmulRef(x, y, s, { bias: z, gelu: true });
      return out.reduce((acc, v, i) => acc + v * gv[i], 0);
    };
    const a = Tensor.from(av, [2, 4, 3], { device, requiresGrad: true });
    const b = Tensor.from(bv, [4, 5], { device, requiresGrad: true });
    const bias = Tensor.from(biasv, [5], { device, requiresGrad: true });
    matmul(a, b, { transA: true, bias, activation: 'gelu' }).backward(Tensor.from(gv, [2, 3, 5], { device }));
    const h = 1e-3;
    const numeric = (v: Float32Array, which: number) =>
      Array.from(v, (_, i) => {
        const plus = Float64Array.from(v), minus = Float64Array.from(v);
        plus[i] += h;
        minus[i] -= h;
        const args = (p: Float64Array) => [which === 0 ? p : av, which === 1 ? p : bv, which === 2 ? p : biasv] as const;
        return (loss(...args(plus)) - loss(...args(minus))) / (2 * h);
      });
    // Central differences in float64 have O(h²) ≈ 1e-6 truncation error; the kernel's f32 rounding is ~1e-6.
    assertClose(await a.grad!.toArray(), numeric(av, 0), 1e-4, 'da vs finite differences');
    assertClose(await b.grad!.toArray(), numeric(bv, 1), 1e-4, 'db vs finite differences');
    assertClose(await bias.grad!.toArray(), numeric(biasv, 2), 1e-4, 'dbias vs finite differences');
  });

  test('no pre-activation is kept without gradients; the tape frees it after backward', async () => {
    const a = Tensor.ones([4, 3], { device, requiresGrad: true });
    const b = Tensor.ones([3, 2], { device });
    const y = matmul(a, b, { activation: 'gelu' });
    assert.is(y.gradFn!.saved.length, 1);
    const saved = y.gradFn!.saved[0];
    y.backward(Tensor.ones([4, 2], { device }));
    assert.ok(saved.disposed);
    const z = matmul(Tensor.ones([4, 3], { device }), b, { activation: 'gelu' });
    assert.is(z.gradFn, null);
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const a = Tensor.zeros([2, 3], { device });
    const b = Tensor.zeros([4, 5], { device });
    await assertThrows(() => matmul(a, b), 'matmul', 'inner dimensions', '[2, 3]', '[4, 5]', 'K = 3', 'K = 4');
    await assertThrows(() => matmul(a, Tensor.zeros([5, 4], { device }), { transB: true }), 'matmul', '[5, 4] (transposed)', 'K = 4');
    await assertThrows(() => matmul(a, Tensor.zeros([3, 5], { dtype: 'bf16', device })), 'matmul', "'b'", 'f32', 'bf16');
    await assertThrows(() => matmul(Tensor.zeros([2, 3], { dtype: 'i32', device }), b), 'matmul', "'a'", 'f32 or bf16', 'i32');
    await assertThrows(() => matmul(Tensor.zeros([3], { device }), b), 'matmul', "'a'", 'rank >= 2', '[3]');
    await assertThrows(() => matmul(a, Tensor.zeros([3], { device })), 'matmul', "'b'", 'rank >= 2', '[3]');
    await assertThrows(() => matmul(Tensor.zeros([2, 2, 3], { device }), Tensor.zeros([3, 3, 5], { device })), 'matmul', "'b'", '[2, 2, 3]', '[3, 3, 5]');
    await assertThrows(() => matmul(a, Tensor.zeros([2, 3, 5], { device })), 'matmul', "'b'", '[2, 3]', '[2, 3, 5]');
    await assertThrows(() => matmul(a, Tensor.zeros([3, 5], { device }), { bias: Tensor.zeros([4], { device }) }), 'matmul', "'bias'", '[5]', '[4]');
    await assertThrows(() => matmul(a, Tensor.zeros([3, 5], { device }), { bias: Tensor.zeros([5], { dtype: 'bf16', device }) }), 'matmul', "'bias'", 'f32', 'bf16');
    await assertThrows(() => matmul(a, Tensor.zeros([3, 5], { device }), { activation: 'relu' as 'gelu' }), 'matmul', "'activation'", '"relu"');
    await assertThrows(() => matmul(a, Tensor.zeros([3, 5], { device }), { transA: 1 as unknown as boolean }), 'matmul', "'transA'", 'boolean', '1');
    await assertThrows(() => matmul(a, 7 as unknown as Tensor), 'matmul', "'b'", 'Tensor', '7');
    await assertThrows(() => linear(a, Tensor.zeros([5, 4], { device })), 'linear', "'x' [2, 3]", "'weight' [5, 4] (transposed)");
    const d = Tensor.zeros([3, 5], { device });
    d.dispose();
    await assertThrows(() => matmul(a, d), 'matmul', "'b'", 'disposed');
    if (device !== 'cpu') {
      await assertThrows(() => matmul(a, Tensor.zeros([3, 5])), 'matmul', "'b'", `a tensor on ${device}`, 'cpu');
    }
  });

  test('the native layer re-checks what TypeScript checks', async () => {
    const a = Tensor.zeros([2, 3], { device });
    const b = Tensor.zeros([3, 5], { device });
    const out = Tensor.empty([2, 5], { device });
    await assertThrows(() => nat().matmul(out.handle, null, a.handle, Tensor.zeros([4, 5], { device }).handle, null, false, false, 1, 0, 'none'), 'matmul', 'inner dimensions', '[2, 3]', '[4, 5]');
    await assertThrows(() => nat().matmul(Tensor.empty([2, 4], { device }).handle, null, a.handle, b.handle, null, false, false, 1, 0, 'none'), 'matmul', "'out'", '[2, 5]', '[2, 4]');
    await assertThrows(() => nat().matmul(out.handle, null, a.handle, b.handle, Tensor.zeros([3], { device }).handle, false, false, 1, 0, 'none'), 'matmul', "'bias'", '[5]', '[3]');
    await assertThrows(() => nat().matmul(out.handle, Tensor.empty([5, 2], { device }).handle, a.handle, b.handle, null, false, false, 1, 0, 'gelu'), 'matmul', "'preact'", '[2, 5]', '[5, 2]');
    await assertThrows(() => nat().matmul(out.handle, null, a.handle, b.handle, null, false, false, NaN, 0, 'none'), 'matmul', "'alpha'");
    await assertThrows(() => nat().matmul(out.handle, null, a.handle, b.handle, null, false, false, 1, 0, 'tanh'), 'matmul', "'activation'", 'tanh');
    await assertThrows(() => nat().matmul(a.handle, null, a.handle, b.handle, null, false, false, 1, 0, 'none'), 'matmul', "'out'");
    const x = Tensor.zeros([2, 2], { device }), y = Tensor.zeros([2, 2], { device });
    await assertThrows(() => nat().matmul(x.handle, null, x.handle, y.handle, null, false, false, 1, 0, 'none'), 'matmul', "'out' overlaps input 'a'");
    await assertThrows(() => nat().matmul(x.handle, null, y.handle, x.handle, null, false, false, 1, 0, 'none'), 'matmul', "'out' overlaps input 'b'");
  });

  if (device === 'cpu') {
    test('every CPU level passes the forward tests in a child process, also with tiny cache blocks', () => {
      const levels = ['scalar', 'avx2', 'avx512'];
      const top = levels.indexOf(buildInfo().cpuLevel);
      // Lower levels at the real blocking; the top level and AVX2 again with blocks so small (kc 24,
      // A block 8 KiB, B block 4 KiB, bf16 workspace 8 KiB) that these sizes cross every boundary.
      const runs: [string, string | undefined][] = levels.slice(0, top).map((l) => [l, undefined]);
      for (const l of [levels[top], 'avx2']) if (levels.indexOf(l) <= top) runs.push([l, '24,8192,4096,8192']);
      console.log(`  [cpu] native level ${levels[top]}; child runs: ${runs.map(([l, b]) => l + (b ? ' (tiny blocks)' : '')).join(', ')}`);
      for (const [level, blocks] of runs) {
        const env: NodeJS.ProcessEnv = { ...process.env, GLM_CPU_LEVEL: level, GLM_MATMUL_TEST_CHILD: level };
        if (blocks) env.GLM_GEMM_BLOCKING = blocks;
        const child = spawnSync(process.execPath, ['--import', 'tsx', __filename], { env, encoding: 'utf8' });
        if (child.status !== 0)
          assert.unreachable(`GLM_CPU_LEVEL=${level} ${blocks ?? ''} failed (exit ${child.status}):\n${child.stdout}\n${child.stderr}`);
        assert.match(child.stdout, /Passed:\D*\d+/);
      }
    });
  }
});
