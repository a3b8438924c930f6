/**
 * Fused attention: forward, log-sum-exp and all three gradients against the float64 full-matrix
 * reference for every mask, padding, decode-style Tq < Tk, awkward T and D, f32 and bf16; finite
 * differences on a tiny case; deferred and immediate errors. The numeric tests are re-run in child
 * processes at every lower CPU level (GLM_CPU_LEVEL), so the AVX2 and scalar paths are checked too.
 */
import { spawnSync } from 'node:child_process';

import { suite, Test } from 'uvu';
import * as assert from 'uvu/assert';

import { buildInfo, numThreads, ops, setNumThreads, Tensor } from '../lib/index';
import { native } from '../lib/native';
import { attention, AttentionMask } from '../lib/ops/attention';
import { assertClose, assertThrows, tolFor } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng, roundBf16, seedNote } from './helpers/random';
import { attentionBackwardRef, attentionRef, AttentionRefOptions } from './reference/attention';

/** Set in the child processes that re-run the numeric tests at a lower CPU level. */
const CHILD_LEVEL = process.env.GLM_ATTN_TEST_LEVEL;

type DType = 'f32' | 'bf16';

interface Case {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  mask: AttentionMask;
  keyLengths?: number[];
  scale?: number;
}

const describeCase = (c: Case) =>
  `B${c.B} H${c.H} Tq${c.Tq} Tk${c.Tk} D${c.D} mask=${JSON.stringify(c.mask)}` +
  (c.keyLengths ? ` keyLengths=[${c.keyLengths}]` : '') + (c.scale !== undefined ? ` scale=${c.scale}` : '');

/** Runs one case forward and backward and checks out, dq, dk, dv against the reference. */
async function checkCase(c: Case, dtype: DType, device: string): Promise<void> {
  const r = rng();
  const prep = (x: Float32Array) => (dtype === 'bf16' ? roundBf16(x) : x);
  const nq = c.B * c.H * c.Tq * c.D, nk = c.B * c.H * c.Tk * c.D;
  const qv = prep(r.normals(nq)), kv = prep(r.normals(nk)), vv = prep(r.normals(nk)), gv = prep(r.normals(nq));
  const q = Tensor.from(qv, [c.B, c.H, c.Tq, c.D], { dtype, device, requiresGrad: true });
  const k = Tensor.from(kv, [c.B, c.H, c.Tk, c.D], { dtype, device, requiresGrad: true });
  const v = Tensor.from(vv, [c.B, c.H, c.Tk, c.D], { dtype, device, requiresGrad: true });
  const keyLengths = c.keyLengths ? Tensor.from(Int32Array.from(c.keyLengths), [c.B], { device }) : undefined;
  const out = attention(q, k, v, { mask: c.mask, keyLengths, scale: c.scale });
  assert.equal(out.shape, [c.B, c.H, c.Tq, c.D]);
  assert.is(out.dtype, dtype);
  const o: AttentionRefOptions = { ...c, scale: c.scale ?? 1 / Math.sqrt(c.D) };
  const ref = attentionRef(qv, kv, vv, o);
  const tol = tolFor(dtype);
  const what = `${describeCase(c)} ${dtype} on ${device}`;
  assertClose(await out.toArray(), ref.out, tol, `out ${what}`);
  out.backward(Tensor.from(gv, out.shape, { dtype, device }));
  const g = attentionBackwardRef(gv, qv, kv, vv, o);
  assertGrad(await q.grad!.toArray(), g.dq, tol, `dq ${what}`);
  assertGrad(await k.grad!.toArray(), g.dk, tol, `dk ${what}`);
  assertGrad(await v.grad!.toArray(), g.dv, tol, `dv ${what}`);
}

/**
 * assertClose, except for a gradient that is exactly zero in exact arithmetic (dq and dk when every
 * query sees a single key: the softmax is constant). There f32 leaves the rounding of terms that
 * cancel, a few ulps of O(1) values, so each element must be below 1e-5.
 */
function assertGrad(actual: Float32Array | Int32Array, expected: Float64Array, tol: number, what: string): void {
  if (expected.some((x) => x !== 0)) return assertClose(actual, expected, tol, what);
  for (let i = 0; i < actual.length; i++)
    if (!(Math.abs(actual[i]) <= 1e-5)) assert.unreachable(`${what}: [${i}] = ${actual[i]}, expected 0 ${seedNote()}`);
}

// Awkward sizes: T and D one off the block and vector widths on both sides.
const TS = [1, 7, 63, 65, 129];
const DS = [1, 7, 32, 64, 65, 128];

/** Every (T, D) pair once, with the mask kinds taking turns (prefix 0, inside and = Tk included). */
function shapeCases(): Case[] {
  const cases: Case[] = [];
  let turn = 0;
  for (const T of TS)
    for (const D of DS) {
      const masks: AttentionMask[] = ['causal', 'none', { prefix: 0 }, { prefix: Math.min(5, T) }, { prefix: T }];
      // B*H = 6 splits the backward over key groups (dq summed over groups) once T > 64.
      cases.push({ B: 2, H: 3, Tq: T, Tk: T, D, mask: masks[turn++ % masks.length] });
    }
  return cases;
}

/** Padding, decode-style queries and an explicit scale, on a few shapes. */
const SPECIAL_CASES: Case[] = [
  // B*H >= 16: one backward task per head, dq written directly.
  { B: 4, H: 4, Tq: 129, Tk: 129, D: 32, mask: 'causal' },
  { B: 3, H: 2, Tq: 65, Tk: 65, D: 64, mask: 'causal', keyLengths: [65, 0, 33] },
  { B: 3, H: 2, Tq: 63, Tk: 63, D: 7, mask: 'none', keyLengths: [1, 63, 0] },
  { B: 2, H: 2, Tq: 129, Tk: 129, D: 65, mask: { prefix: 70 }, keyLengths: [100, 64] },
  { B: 2, H: 2, Tq: 1, Tk: 129, D: 64, mask: 'causal' },
  { B: 2, H: 2, Tq: 1, Tk: 65, D: 32, mask: 'none', keyLengths: [65, 17] },
  { B: 1, H: 3, Tq: 7, Tk: 129, D: 32, mask: 'causal', keyLengths: [120] },
  { B: 1, H: 2, Tq: 63, Tk: 65, D: 128, mask: { prefix: 3 } },
  { B: 2, H: 1, Tq: 65, Tk: 129, D: 1, mask: 'causal', keyLengths: [129, 66] },
  { B: 1, H: 2, Tq: 65, Tk: 65, D: 32, mask: 'none', scale: 0.7 },
  // A few queries per head (decode steps, the CPU's direct path): D not a vector multiple, a row that
  // sees no key, a prefix wider than the queries' own positions.
  { B: 2, H: 3, Tq: 3, Tk: 70, D: 33, mask: 'causal', keyLengths: [70, 0] },
  { B: 1, H: 2, Tq: 4, Tk: 9, D: 7, mask: { prefix: 7 } },
  { B: 2, H: 1, Tq: 2, Tk: 129, D: 128, mask: 'none', keyLengths: [3, 129] },
];

function numericTests(test: Test, device: string): void {
  test('forward and gradients, every mask, T in {1,7,63,65,129} x D in {1,7,32,64,65,128} (f32)', async () => {
    for (const c of shapeCases()) await checkCase(c, 'f32', device);
  });

  test('forward and gradients: keyLengths, Tq < Tk, explicit scale (f32)', async () => {
    for (const c of SPECIAL_CASES) await checkCase(c, 'f32', device);
  });

  test('forward and gradients in bf16', async () => {
    const cases = shapeCases().filter((_, i) => i % 3 === 0).concat(SPECIAL_CASES.slice(1, 6), SPECIAL_CASES.slice(-3));
    for (const c of cases) await checkCase(c, 'bf16', device);
  });

  test('the saved log-sum-exp matches the reference; -inf where a query sees no key', async () => {
    const r = rng();
    const [B, H, Tq, Tk, D] = [3, 2, 65, 129, 33];
    const lengths = [129, 0, 40];
    const qv = r.normals(B * H * Tq * D), kv = r.normals(B * H * Tk * D), vv = r.normals(B * H * Tk * D);
    const q = Tensor.from(qv, [B, H, Tq, D], { device }), k = Tensor.from(kv, [B, H, Tk, D], { device });
    const v = Tensor.from(vv, [B, H, Tk, D], { device });
    const kl = Tensor.from(Int32Array.from(lengths), [B], { device });
    const out = Tensor.empty([B, H, Tq, D], { device }), lse = Tensor.empty([B, H, Tq], { device });
    const scale = 0.3;
    native<{ attentionForward(...a: unknown[]): void }>().attentionForward(
      out.handle, lse.handle, q.handle, k.handle, v.handle, kl.handle, 2, 50, scale);
    const ref = attentionRef(qv, kv, vv, { B, H, Tq, Tk, D, scale, mask: { prefix: 50 }, keyLengths: lengths });
    const got = await lse.toArray();
    const finiteGot: number[] = [], finiteRef: number[] = [];
    for (let i = 0; i < got.length; i++) {
      if (ref.lse[i] === -Infinity) assert.is(got[i], -Infinity, `lse[${i}] of a query that sees no key ${seedNote()}`);
      else {
        finiteGot.push(got[i]);
        finiteRef.push(ref.lse[i]);
      }
    }
    assert.ok(finiteRef.length === B * H * Tq - H * Tq, 'only batch row 1 (length 0) sees nothing');
    assertClose(finiteGot, finiteRef, 1e-5, 'lse');  // f32 log-sum-exp of O(1) values: ~1e-7 relative
    assertClose(await out.toArray(), ref.out, 1e-4, 'out next to lse');
  });

  test('a batch row with key length 0 gives exactly zero output and gradients', async () => {
    const r = rng();
    const [B, H, T, D] = [2, 2, 65, 32];
    const n = B * H * T * D;
    const q = Tensor.from(r.normals(n), [B, H, T, D], { device, requiresGrad: true });
    const k = Tensor.from(r.normals(n), [B, H, T, D], { device, requiresGrad: true });
    const v = Tensor.from(r.normals(n), [B, H, T, D], { device, requiresGrad: true });
    const out = attention(q, k, v, { mask: 'none', keyLengths: Tensor.from(Int32Array.from([0, T]), [B], { device }) });
    out.backward(Tensor.from(r.normals(n), [B, H, T, D], { device }));
    const half = n / 2;  // batch row 0 is the first half of every tensor
    for (const [name, t] of [['out', out], ['dq', q.grad!], ['dk', k.grad!], ['dv', v.grad!]] as const) {
      const a = await t.toArray();
      for (let i = 0; i < half; i++) if (a[i] !== 0) assert.unreachable(`${name}[${i}] = ${a[i]}, expected exactly 0`);
      let nonzero = 0;
      for (let i = half; i < n; i++) {
        if (!Number.isFinite(a[i])) assert.unreachable(`${name}[${i}] = ${a[i]}`);
        if (a[i] !== 0) nonzero++;
      }
      assert.ok(nonzero > half / 2, `${name}: batch row 1 is not padding and must have values`);
    }
  });
}

/** Finite differences of L = sum(out * w) against the analytic gradients, in f32 on a tiny case. */
function finiteDifferenceTest(test: Test, device: string): void {
  test('gradients match central finite differences (tiny case, prefix mask + padding)', async () => {
    const r = rng();
    const [B, H, Tq, Tk, D] = [2, 1, 3, 5, 3];
    const opts = (kl: Tensor) => ({ mask: { prefix: 2 }, keyLengths: kl, scale: 0.9 });
    const kl = Tensor.from(Int32Array.from([5, 4]), [B], { device });
    const data = { q: r.normals(B * H * Tq * D), k: r.normals(B * H * Tk * D), v: r.normals(B * H * Tk * D) };
    const shapes = { q: [B, H, Tq, D], k: [B, H, Tk, D], v: [B, H, Tk, D] };
    const w = r.normals(B * H * Tq * D);
    const loss = async (d: typeof data) => {
      const o = await attention(Tensor.from(d.q, shapes.q, { device }), Tensor.from(d.k, shapes.k, { device }),
        Tensor.from(d.v, shapes.v, { device }), opts(kl)).toArray();
      let s = 0;
      for (let i = 0; i < o.length; i++) s += o[i] * w[i];
      return s;
    };
    const ts = {
      q: Tensor.from(data.q, shapes.q, { device, requiresGrad: true }),
      k: Tensor.from(data.k, shapes.k, { device, requiresGrad: true }),
      v: Tensor.from(data.v, shapes.v, { device, requiresGrad: true }),
    };
    attention(ts.q, ts.k, ts.v, opts(kl)).backward(Tensor.from(w, shapes.q, { device }));
    const eps = 1e-2;
    for (const name of ['q', 'k', 'v'] as const) {
      const analytic = await ts[name].grad!.toArray();
      const numeric = new Float64Array(analytic.length);
      for (let i = 0; i < analytic.length; i++) {
        const plus = { ...data, [name]: Float32Array.from(data[name]) };
        const minus = { ...data, [name]: Float32Array.from(data[name]) };
        plus[name][i] += eps;
        minus[name][i] -= eps;
        numeric[i] = ((await loss(plus)) - (await loss(minus))) / (2 * eps);
      }
      // Central differences carry O(eps^2) ~ 1e-4 truncation plus f32 rounding of the loss
      // (~1e-7 / eps = 1e-5), relative to gradients of order 1.
      assertClose(analytic, numeric, 2e-3, `d${name} vs finite differences`);
    }
  });
}

function errorTests(test: Test, device: string): void {
  test('an out-of-range key length is a deferred error naming the op and the index', async () => {
    const q = Tensor.zeros([3, 1, 4, 8], { device }), k = Tensor.zeros([3, 1, 6, 8], { device });
    const bad = attention(q, k, k, { keyLengths: Tensor.from(Int32Array.from([6, 7, 0]), [3], { device }) });
    await assertThrows(() => bad.toArray(), 'attention', 'keyLengths[1]', '7');
    const neg = attention(q, k, k, { keyLengths: Tensor.from(Int32Array.from([2, 0, -1]), [3], { device }) });
    await assertThrows(() => neg.toArray(), 'attention', 'keyLengths[2]', '-1');
    // The error is reported once; the device works again afterwards.
    const ok = attention(q, k, k, { keyLengths: Tensor.from(Int32Array.from([6, 0, 1]), [3], { device }) });
    assertClose(await ok.toArray(), new Float64Array(3 * 4 * 8), 0, 'zeros after an error');
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const q = Tensor.zeros([2, 3, 5, 8], { device }), k = Tensor.zeros([2, 3, 7, 8], { device });
    const kl = Tensor.from(Int32Array.from([7, 7]), [2], { device });
    await assertThrows(() => attention(1 as unknown as Tensor, k, k), 'attention', "'q'", 'Tensor', '1');
    await assertThrows(() => attention(Tensor.zeros([2, 5, 8], { device }), k, k), 'attention', "'q'", '4-D', '[2, 5, 8]');
    await assertThrows(() => attention(q, Tensor.zeros([2, 3, 7, 9], { device }), k), 'attention', "'k'", '[2, 3, 7, 8]', '[2, 3, 7, 9]');
    await assertThrows(() => attention(q, k, Tensor.zeros([2, 3, 6, 8], { device })), 'attention', "'v'", '[2, 3, 7, 8]', '[2, 3, 6, 8]');
    await assertThrows(() => attention(q, k.cast('bf16'), k), 'attention', "'k'", 'f32', 'bf16');
    const qi = Tensor.zeros([2, 3, 5, 8], { dtype: 'i32', device });
    await assertThrows(() => attention(qi, qi, qi), 'attention', "'q'", 'f32 or bf16', 'i32');
    const big = Tensor.zeros([1, 1, 2, 129], { device });
    await assertThrows(() => attention(big, big, big), 'attention', "'q'", '[1, 128]', '129');
    await assertThrows(() => attention(k, q, q), 'attention', "'q'", 'at most as many queries as keys (5)', '7');
    await assertThrows(() => attention(q, k, k, { mask: 'full' as AttentionMask }), 'attention', "'mask'", "'causal'", '"full"');
    await assertThrows(() => attention(q, k, k, { mask: { prefix: 8 } }), 'attention', "'mask.prefix'", '[0, 7]', '8');
    await assertThrows(() => attention(q, k, k, { mask: { prefix: -1 } }), 'attention', "'mask.prefix'", '-1');
    await assertThrows(() => attention(q, k, k, { mask: { prefix: 1.5 } }), 'attention', "'mask.prefix'", '1.5');
    await assertThrows(() => attention(q, k, k, { scale: NaN }), 'attention', "'scale'", 'finite', 'NaN');
    await assertThrows(() => attention(q, k, k, { keyLengths: kl.cast('f32') }), 'attention', "'keyLengths'", 'i32', 'f32');
    await assertThrows(() => attention(q, k, k, { keyLengths: Tensor.from(Int32Array.from([7]), [1], { device }) }),
      'attention', "'keyLengths'", '[2]', '[1]');
    const gone = Tensor.zeros([2, 3, 7, 8], { device });
    gone.dispose();
    await assertThrows(() => attention(q, k, gone), 'attention', "'v'", 'disposed');
  });

  test('the native side re-checks what TypeScript checked', async () => {
    type Fwd = { attentionForward(...a: unknown[]): void; attentionBackward(...a: unknown[]): void };
    const n = native<Fwd>();
    const t = (shape: number[], dtype: 'f32' | 'bf16' | 'i32' = 'f32') => Tensor.zeros(shape, { dtype, device }).handle;
    const q = t([2, 3, 5, 8]), k = t([2, 3, 7, 8]), out = t([2, 3, 5, 8]), lse = t([2, 3, 5]);
    const call = (...a: unknown[]) => () => n.attentionForward(...a);
    await assertThrows(call(out, t([2, 3, 4]), q, k, k, null, 1, 0, 1), 'attention', "'lse'", '[2, 3, 5]', '[2, 3, 4]');
    await assertThrows(call(out, lse, q, k, t([2, 3, 7, 8], 'bf16'), null, 1, 0, 1), 'attention', "'v'", 'f32', 'bf16');
    await assertThrows(call(out, lse, q, k, k, null, 3, 0, 1), 'attention', "'mask'", '3');
    await assertThrows(call(out, lse, q, k, k, null, 2, 8, 1), 'attention', "'prefix'", '[0, 7]', '8');
    await assertThrows(call(out, lse, q, k, k, null, 1, 0, Infinity), 'attention', "'scale'", 'finite');
    await assertThrows(call(out, lse, q, k, k, t([3], 'i32'), 1, 0, 1), 'attention', "'keyLengths'", '[2]', '[3]');
    await assertThrows(call(q, lse, q, k, k, null, 1, 0, 1), 'attention', "'out'", 'overlaps', "'q'");
    await assertThrows(call(out, lse, t([2, 3, 5, 129]), t([2, 3, 7, 129]), t([2, 3, 7, 129]), null, 1, 0, 1),
      'attention', "'q'", '129');
    const bwd = (...a: unknown[]) => () => n.attentionBackward(...a);
    const dq = t([2, 3, 5, 8]), dk = t([2, 3, 7, 8]), dv = t([2, 3, 7, 8]);
    await assertThrows(bwd(dq, dk, t([2, 3, 5, 8]), out, q, k, k, out, lse, null, 1, 0, 1), 'attentionBackward', "'dv'", '[2, 3, 7, 8]', '[2, 3, 5, 8]');
    await assertThrows(bwd(dq, dk, dk, out, q, k, k, out, lse, null, 1, 0, 1), 'attentionBackward', "'dv'", 'overlaps', "'dk'");
    await assertThrows(bwd(dq, dk, dv, out, q, k, k, out, lse, null, 1, 0, 1 / 0), 'attentionBackward', "'scale'");
  });
}

function apiTests(test: Test, device: string): void {
  test('causal is the default mask and 1/sqrt(D) the default scale', async () => {
    const r = rng();
    const [B, H, T, D] = [1, 2, 9, 16];
    const qv = r.normals(B * H * T * D), kv = r.normals(B * H * T * D), vv = r.normals(B * H * T * D);
    const mk = (x: Float32Array) => Tensor.from(x, [B, H, T, D], { device });
    const ref = attentionRef(qv, kv, vv, { B, H, Tq: T, Tk: T, D, scale: 0.25, mask: 'causal' });
    assertClose(await attention(mk(qv), mk(kv), mk(vv)).toArray(), ref.out, 1e-4, 'defaults');
  });

  test('backward works after the caller disposed out and keyLengths; only requested grads come back', async () => {
    const r = rng();
    const [B, H, T, D] = [2, 2, 33, 8];
    const n = B * H * T * D;
    const qv = r.normals(n), kv = r.normals(n), vv = r.normals(n), gv = r.normals(n);
    const q = Tensor.from(qv, [B, H, T, D], { device, requiresGrad: true });
    const k = Tensor.from(kv, [B, H, T, D], { device });
    const v = Tensor.from(vv, [B, H, T, D], { device, requiresGrad: true });
    const kl = Tensor.from(Int32Array.from([33, 20]), [B], { device });
    const out = attention(q, k, v, { mask: 'none', keyLengths: kl });
    const y = ops.scale(out, 2);
    out.dispose();
    kl.dispose();
    y.backward(Tensor.from(gv, [B, H, T, D], { device }));
    assert.is(k.grad, null);
    const o: AttentionRefOptions = { B, H, Tq: T, Tk: T, D, scale: 1 / Math.sqrt(D), mask: 'none', keyLengths: [33, 20] };
    const g = attentionBackwardRef(Float32Array.from(gv, (x) => 2 * x), qv, kv, vv, o);
    assertClose(await q.grad!.toArray(), g.dq, 1e-4, 'dq');
    assertClose(await v.grad!.toArray(), g.dv, 1e-4, 'dv');
  });

  test('gradients are bit-identical across runs and thread counts', async () => {
    const r = rng();
    // B*H = 2 splits each head's keys into groups whose dq shares are summed: the sum must not
    // depend on which thread ran which group.
    const [B, H, T, D] = [1, 2, 129, 32];
    const n = B * H * T * D;
    const data = [r.normals(n), r.normals(n), r.normals(n)];
    const gv = r.normals(n);
    const grads = async () => {
      const [q, k, v] = data.map((x) => Tensor.from(x, [B, H, T, D], { device, requiresGrad: true }));
      attention(q, k, v).backward(Tensor.from(gv, [B, H, T, D], { device }));
      return Promise.all([q, k, v].map((t) => t.grad!.toArray()));
    };
    const before = numThreads();
    const first = await grads();
    const second = await grads();
    setNumThreads(1);
    let single;
    try {
      single = await grads();
    } finally {
      setNumThreads(before);
    }
    for (let i = 0; i < 3; i++) {
      assert.equal(Array.from(second[i]), Array.from(first[i]), `grad ${i}: run to run`);
      assert.equal(Array.from(single[i]), Array.from(first[i]), `grad ${i}: 1 thread vs ${before}`);
    }
  });

  test('no tape without requiresGrad', async () => {
    const q = Tensor.zeros([1, 1, 3, 4], { device });
    const out = attention(q, q, q);
    assert.is(out.requiresGrad, false);
    assert.is(out.gradFn, null);
  });
}

if (CHILD_LEVEL) {
  // A child process: the numeric tests on the CPU only, at the level the parent asked for.
  const s = suite(`attention [cpu, GLM_CPU_LEVEL=${CHILD_LEVEL}]`);
  s('the requested CPU level is in effect', () => {
    assert.is(buildInfo().cpuLevel, CHILD_LEVEL);
  });
  numericTests(s, 'cpu');
  finiteDifferenceTest(s, 'cpu');
  s.run();
} else {
  deviceSuites('attention', (test, device) => {
    numericTests(test, device);
    finiteDifferenceTest(test, device);
    errorTests(test, device);
    apiTests(test, device);
  });

  // The machine's own level ran above; every lower level runs in a child process.
  const LEVELS = ['scalar', 'avx2', 'avx512'] as const;
  const s = suite('attention [cpu, lower CPU levels]');
  for (const level of LEVELS.slice(0, LEVELS.indexOf(buildInfo().cpuLevel))) {
    s(`numeric tests pass at GLM_CPU_LEVEL=${level}`, () => {
      const child = spawnSync(process.execPath, ['--import', 'tsx', __filename], {
        env: { ...process.env, GLM_CPU_LEVEL: level, GLM_ATTN_TEST_LEVEL: level, FORCE_COLOR: '0' },
        encoding: 'utf8',
        timeout: 600_000,
      });
      const output = `${child.stdout}\n${child.stderr}`;
      const passed = /Passed:\s+(\d+)/.exec(output);
      if (child.status !== 0 || !passed || Number(passed[1]) < 5)
        assert.unreachable(`child at GLM_CPU_LEVEL=${level} failed (status ${child.status}):\n${output.slice(-4000)}`);
    });
  }
  s.run();
}
