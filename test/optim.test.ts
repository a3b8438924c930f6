/**
 * AdamW, SGD, gradient-norm clipping and learning-rate schedules against float64 references, on
 * awkward sizes, several tensors and groups, f32 and bf16 gradients; bad input. The CPU kernels are
 * also run at every ISA level the machine has (in child processes, as GLM_CPU_LEVEL is read once).
 */
import { spawnSync } from 'node:child_process';
import { suite, Test } from 'uvu';
import * as assert from 'uvu/assert';

import { buildInfo, setNumThreads, numThreads } from '../lib/device';
import { native } from '../lib/native';
import { scale as scaleOp } from '../lib/ops/elementwise';
import { AdamW, clipGradNorm, constant, cosineWithWarmup, gradNorm, linearWarmup, scaleGradsInPlace, SGD } from '../lib/optim/index';
import { Tensor } from '../lib/tensor';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceAvailable, deviceSuites } from './helpers/devices';
import { rng, roundBf16 } from './helpers/random';
import { adamwRefInit, adamwRefStep, clipCoefRef, globalNormRef, SgdRefState, sgdRefStep } from './reference/optim';

type Rng = ReturnType<typeof rng>;
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const SHAPES = [[1], [7], [63, 65], [129, 7], [4099]];

/** Differences a - b in float64 (the update a step made). */
function diff(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i] - b[i]);
}

/**
 * A fresh gradient for p, normal(offset, scale²) (values rounded to bf16 when gradType is bf16);
 * returns the values used.
 */
function setGrad(p: Tensor, gradType: 'f32' | 'bf16', r: Rng, scale = 1, offset = 0): Float32Array {
  const v = r.normals(p.numel, scale).map((x) => x + offset);
  const used = gradType === 'bf16' ? roundBf16(v) : v;
  p.grad?.dispose();
  p.grad = Tensor.from(used, p.shape, { dtype: gradType, device: p.device });
  return used;
}

// Tolerances: the kernels compute in f32; the steps are compared as updates (p_after - p_before),
// so 1e-4 (the f32 norm-wise bound) holds as long as the update stays far above the rounding of p
// itself (2^-24·|p| per step). Hence parameters of size ~0.1 and, in the step tests, gradients of
// mean 1 (GRAD_MEAN), whose updates do not cancel across steps: with zero-mean gradients the update
// of a one-element tensor is now and then a random walk back to ~0, below p's rounding.
const TOL = 1e-4;
const PARAM_SCALE = 0.1;
const GRAD_MEAN = 1;

/** The AdamW and clipping checks that also run at every CPU ISA level. */
function kernelTests(test: Test, device: string): void {
  test('AdamW over several steps matches the reference: groups, bf16 grads, a parameter without grad', async () => {
    const r = rng();
    const hp = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8 };
    const values = SHAPES.map((s) => r.normals(numel(s), PARAM_SCALE));
    const params = SHAPES.map((s, i) => Tensor.from(values[i], s, { device, requiresGrad: true }));
    // Group 0 decays, group 1 does not; gradient dtypes alternate.
    const decay = [0.1, 0.1, 0, 0, 0.1];
    const gradTypes = ['f32', 'bf16', 'f32', 'bf16', 'bf16'] as const;
    const opt = new AdamW(
      [
        { params: [params[0], params[1], params[4]], weightDecay: 0.1, names: ['p0', 'p1', 'p4'] },
        { params: [params[2], params[3]], weightDecay: 0, names: ['p2', 'p3'] },
      ],
      { lr: hp.lr, betas: [hp.beta1, hp.beta2], eps: hp.eps },
    );
    const refs = values.map((v) => adamwRefInit(v));
    for (let step = 0; step < 5; step++) {
      for (let k = 0; k < params.length; k++) {
        // Parameter 3 gets no gradient at step 2: it must be skipped, its moments and t unchanged.
        if (k === 3 && step === 2) {
          params[k].grad?.dispose();
          params[k].grad = null;
          continue;
        }
        const g = setGrad(params[k], gradTypes[k], r, 1, GRAD_MEAN);
        adamwRefStep(refs[k], g, { ...hp, weightDecay: decay[k] });
      }
      opt.step();
    }
    assert.is(opt.stepCount, 5);
    const state = opt.stateTensors();
    for (let k = 0; k < params.length; k++) {
      const p = await params[k].toArray();
      assertClose(diff(p, values[k]), diff(refs[k].p, values[k]), TOL, `param ${k} [${SHAPES[k]}] update`);
      assertClose(await state[`p${k}.m`].toArray(), refs[k].m, TOL, `param ${k} m`);
      assertClose(await state[`p${k}.v`].toArray(), refs[k].v, TOL, `param ${k} v`);
    }
    assert.equal(opt.stateInfo().steps, { p0: 5, p1: 5, p4: 5, p2: 5, p3: 4 });
  });

  test('clipGradNorm: norm and coefficient, clipping and not, f32 and bf16 grads, params without grad', async () => {
    const r = rng();
    const shapes = [[1], [63, 65], [100003], [7, 129], [5]];
    const gradTypes = ['f32', 'bf16', 'f32', 'bf16', 'f32'] as const;
    const params = shapes.map((s) => Tensor.from(r.normals(numel(s)), s, { device, requiresGrad: true }));
    const grads: Float32Array[] = [];
    params.forEach((p, k) => {
      if (k !== 4) grads.push(setGrad(p, gradTypes[k], r, 0.1));  // params[4] has no grad: counts as zero
    });
    const norm = globalNormRef(grads);
    // bf16 gradients are read exactly and squares accumulate in double; only the running sum (once per
    // tensor) and the norm are rounded to f32: a few 2^-24.
    const tol = 1e-6;
    for (const maxNorm of [0.5 * norm, 2 * norm]) {
      const { norm: n, coef: c } = clipGradNorm(params, maxNorm);
      assert.equal(n.shape, []);
      assert.is(n.device, params[0].device);
      assertClose([await n.item()], [norm], tol, 'norm');
      assertClose([await c.item()], [clipCoefRef(norm, maxNorm)], tol, `coef, maxNorm = ${maxNorm / norm} x norm`);
    }
    assertClose([await gradNorm(params).item()], [norm], tol, 'gradNorm');
  });

  test('AdamW with gradScale from clipGradNorm (no read back) matches clipping then stepping', async () => {
    const r = rng();
    const hp = { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05 };
    const shapes = [[65, 63], [129], [1]];
    const values = shapes.map((s) => r.normals(numel(s), PARAM_SCALE));
    const params = shapes.map((s, k) => Tensor.from(values[k], s, { device, requiresGrad: true }));
    const opt = new AdamW(params, { lr: hp.lr, betas: [hp.beta1, hp.beta2], eps: hp.eps, weightDecay: hp.weightDecay });
    const refs = values.map((v) => adamwRefInit(v));
    for (let step = 0; step < 4; step++) {
      const grads = params.map((p, k) => setGrad(p, k === 1 ? 'bf16' : 'f32', r, 1, GRAD_MEAN));
      const maxNorm = step % 2 === 0 ? 1 : 1e6;  // clipping, then not
      const coefRef = clipCoefRef(globalNormRef(grads), maxNorm);
      const { coef } = clipGradNorm(params, maxNorm);
      opt.step({ gradScale: coef });
      refs.forEach((s, k) => adamwRefStep(s, grads[k], hp, coefRef));
    }
    for (let k = 0; k < params.length; k++)
      assertClose(diff(await params[k].toArray(), values[k]), diff(refs[k].p, values[k]), TOL, `param ${k} update`);
  });
}

// In a child process (see the end of the file) only the kernel tests run.
const CHILD = process.env.GLM_OPTIM_LEVEL_CHILD === '1';

if (!CHILD) deviceSuites('optim', (test, device) => {
  kernelTests(test, device);

  test('one native call per step for all tensors; one per distinct lrScale', async () => {
    const r = rng();
    const n = native<{ adamwStep: (...args: unknown[]) => void }>();
    const original = n.adamwStep;
    let calls = 0;
    n.adamwStep = (...args: unknown[]) => {
      calls++;
      return original(...args);
    };
    try {
      const ps = SHAPES.map((s) => Tensor.from(r.normals(numel(s)), s, { device, requiresGrad: true }));
      const opt = new AdamW([{ params: ps.slice(0, 2) }, { params: ps.slice(2), weightDecay: 0 }]);
      ps.forEach((p) => setGrad(p, 'f32', r));
      opt.step();
      opt.step();
      assert.is(calls, 2);
      const scaled = new AdamW([{ params: ps.slice(0, 2) }, { params: ps.slice(2), lrScale: 0.5 }]);
      calls = 0;
      scaled.step();
      assert.is(calls, 2);
    } finally {
      n.adamwStep = original;
    }
  });

  test('AdamW lrScale, lr changes between steps, zeroGrad, state save and load', async () => {
    const r = rng();
    const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    const shapes = [[7, 9], [33]];
    const values = shapes.map((s) => r.normals(numel(s), PARAM_SCALE));
    const params = shapes.map((s, k) => Tensor.from(values[k], s, { device, requiresGrad: true }));
    const opt = new AdamW([{ params: [params[0]], names: ['w'] }, { params: [params[1]], lrScale: 0.5, weightDecay: 0, names: ['b'] }], {});
    assert.is(opt.lr, 1e-3);
    const refs = values.map((v) => adamwRefInit(v));
    const lrs = [1e-3, 5e-3, 2e-3];
    for (const lr of lrs) {
      opt.lr = lr;
      const gs = params.map((p) => setGrad(p, 'f32', r, 1, GRAD_MEAN));
      opt.step();
      adamwRefStep(refs[0], gs[0], { ...hp, lr });
      adamwRefStep(refs[1], gs[1], { ...hp, lr: lr * 0.5, weightDecay: 0 });
    }
    for (let k = 0; k < 2; k++)
      assertClose(diff(await params[k].toArray(), values[k]), diff(refs[k].p, values[k]), TOL, `param ${k} update`);
    opt.zeroGrad();
    assert.ok(params.every((p) => p.grad === null));

    // Save, restore into a fresh optimizer over copies of the parameters (on the CPU, as a checkpoint
    // would be read), take one more step with both, and compare.
    const saved = Object.fromEntries(Object.entries(opt.stateTensors()).map(([k, t]) => [k, t.to('cpu').clone()]));
    assert.equal(Object.keys(saved).sort(), ['b.m', 'b.v', 'w.m', 'w.v']);
    const info = JSON.parse(JSON.stringify(opt.stateInfo()));
    const copies = params.map((p) => p.detach().clone().requireGrad());
    const opt2 = new AdamW([{ params: [copies[0]], names: ['w'] }, { params: [copies[1]], lrScale: 0.5, weightDecay: 0, names: ['b'] }]);
    opt2.loadState(saved, info);
    opt2.lr = opt.lr;
    assert.is(opt2.stepCount, 3);
    for (let k = 0; k < 2; k++) {
      const g = r.normals(params[k].numel);
      params[k].grad = Tensor.from(g, params[k].shape, { device });
      copies[k].grad = Tensor.from(g, params[k].shape, { device });
    }
    opt.step();
    opt2.step();
    for (let k = 0; k < 2; k++) assertClose(await copies[k].toArray(), await params[k].toArray(), 1e-7, `resumed param ${k}`);
    opt.dispose();
    opt2.dispose();
  });

  test('SGD matches the reference: plain, momentum with dampening, Nesterov, weight decay, bf16 grads, gradScale', async () => {
    const r = rng();
    const configs = [
      { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
      { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0.01 },
      { lr: 0.05, momentum: 0.9, dampening: 0.2, nesterov: false, weightDecay: 0 },
      { lr: 0.02, momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0.1 },
    ];
    for (const hp of configs) {
      const values = SHAPES.map((s) => r.normals(numel(s), PARAM_SCALE));
      const params = SHAPES.map((s, k) => Tensor.from(values[k], s, { device, requiresGrad: true }));
      const opt = new SGD(params, hp);
      const refs: SgdRefState[] = values.map((v) => ({ p: Float64Array.from(v), buf: null }));
      for (let step = 0; step < 4; step++) {
        const grads = params.map((p, k) => setGrad(p, k % 2 ? 'bf16' : 'f32', r, 1, GRAD_MEAN));
        const withScale = step === 3;
        const scale = withScale ? Tensor.from([0.25], [], { device }) : undefined;
        opt.step({ gradScale: scale });
        refs.forEach((s, k) => sgdRefStep(s, grads[k], hp, withScale ? 0.25 : 1));
      }
      for (let k = 0; k < params.length; k++)
        assertClose(diff(await params[k].toArray(), values[k]), diff(refs[k].p, values[k]), TOL, `SGD ${JSON.stringify(hp)} param ${k}`);
      opt.dispose();
    }
  });

  test('scaleGradsInPlace by a device coefficient or a number (f32 and bf16 grads)', async () => {
    const r = rng();
    const params = [[65], [7, 9]].map((s) => Tensor.from(r.normals(numel(s)), s, { device, requiresGrad: true }));
    const g0 = setGrad(params[0], 'f32', r);
    const g1 = setGrad(params[1], 'bf16', r);
    const norm = globalNormRef([g0, g1]);
    const { coef } = clipGradNorm(params, 0.3);
    scaleGradsInPlace(params, coef);
    const c = clipCoefRef(norm, 0.3);
    assertClose(await params[0].grad!.toArray(), Array.from(g0, (x) => x * c), TOL, 'f32 grad scaled');
    // bf16: the coefficient and the product are rounded to bf16 (2 × 2^-9 relative).
    assertClose(await params[1].grad!.toArray(), Array.from(g1, (x) => x * c), 2e-2, 'bf16 grad scaled');
    scaleGradsInPlace(params, -2);
    assertClose(await params[0].grad!.toArray(), Array.from(g0, (x) => -2 * x * c), TOL, 'f32 grad scaled by a number');
  });

  test('the global norm does not depend on the thread count', async () => {
    const r = rng();
    const p = Tensor.from(r.normals(1 << 20), [1 << 20], { device, requiresGrad: true });
    setGrad(p, 'f32', r);
    const before = numThreads();
    try {
      setNumThreads(1);
      const one = await gradNorm([p]).item();
      setNumThreads(Math.max(2, before));
      const many = await gradNorm([p]).item();
      assert.is(one, many);
    } finally {
      setNumThreads(before);
    }
  });

  test('bad input names the op, the argument, expected and actual', async () => {
    const p = Tensor.zeros([3], { device, requiresGrad: true });
    for (const [opts, ...patterns] of [
      [{ lr: NaN }, "'lr'", 'finite number >= 0', 'NaN'],
      [{ lr: -1 }, "'lr'", '-1'],
      [{ betas: [1, 0.999] }, "'betas[0]'", 'in [0, 1)', '1'],
      [{ betas: [0.9, Infinity] }, "'betas[1]'", 'Infinity'],
      [{ betas: [0.9] }, "'betas'", 'pair'],
      [{ eps: 0 }, "'eps'", '> 0', '0'],
      [{ weightDecay: NaN }, "'weightDecay'", 'NaN'],
    ] as [object, ...string[]][])
      await assertThrows(() => new AdamW([p], opts), 'AdamW', ...patterns);
    await assertThrows(() => new AdamW([Tensor.zeros([3], { dtype: 'bf16', device, requiresGrad: true })]), 'AdamW', "'params[0]'", 'f32', 'bf16');
    await assertThrows(() => new AdamW([p, Tensor.zeros([3], { device })]), 'AdamW', "'params[1]'", 'requires grad', 'requiresGrad false');
    await assertThrows(() => new AdamW([scaleOp(p, 2)]), 'AdamW', "'params[0]'", 'leaf', 'scale');
    await assertThrows(() => new AdamW([p, p]), 'AdamW', "'params[1]'", 'once', 'twice');
    await assertThrows(() => new AdamW([{ params: [p], weightDecay: -1 }]), 'AdamW', "'params[0].weightDecay'", '>= 0', '-1');
    await assertThrows(() => new AdamW([{ params: [p], lrScale: NaN }]), 'AdamW', "'params[0].lrScale'", 'NaN');
    await assertThrows(() => new AdamW(p as unknown as Tensor[]), 'AdamW', "'params'", 'array');
    const opt = new AdamW([p]);
    await assertThrows(() => (opt.lr = Infinity), 'AdamW', "'lr'", 'Infinity');
    p.grad = Tensor.zeros([4], { device });
    await assertThrows(() => opt.step(), 'AdamW.step', 'gradient of "0"', '[3]', '[4]');
    p.grad = Tensor.zeros([3], { dtype: 'i32', device });
    await assertThrows(() => opt.step(), 'AdamW.step', 'gradient of "0"', 'f32 or bf16', 'i32');
    p.grad = Tensor.zeros([3], { device });
    await assertThrows(() => opt.step({ gradScale: Tensor.zeros([2], { device }) }), 'AdamW.step', "'gradScale'", 'one-element', 'f32[2]');
    await assertThrows(() => opt.step({ gradScale: Tensor.zeros([], { dtype: 'bf16', device }) }), 'AdamW.step', "'gradScale'", 'bf16');
    assert.is(opt.stepCount, 0);  // failed steps change nothing

    await assertThrows(() => clipGradNorm([p], 0), 'clipGradNorm', "'maxNorm'", '> 0', '0');
    await assertThrows(() => clipGradNorm([p], NaN), 'clipGradNorm', "'maxNorm'", 'NaN');
    await assertThrows(() => clipGradNorm([], 1), 'clipGradNorm', "'params'", 'non-empty');
    await assertThrows(() => gradNorm([p, 5 as unknown as Tensor]), 'gradNorm', "'params[1]'", 'Tensor', '5');
    await assertThrows(() => scaleGradsInPlace([p], NaN), 'scaleGradsInPlace', "'coef'", 'NaN');
    await assertThrows(() => scaleGradsInPlace([p], Tensor.zeros([2], { device })), 'scaleGradsInPlace', "'coef'", 'f32[2]');
    await assertThrows(() => new SGD([p], { momentum: 1 }), 'SGD', "'momentum'", 'in [0, 1)', '1');
    await assertThrows(() => new SGD([p], { nesterov: true }), 'SGD', "'nesterov'", 'momentum > 0');
    await assertThrows(() => new SGD([p], { lr: NaN }), 'SGD', "'lr'", 'NaN');
  });

  test('the native side re-checks hyper-parameters, dtypes, shapes and aliasing', async () => {
    const n = native<{
      adamwStep(...a: unknown[]): void;
      sumSquares(...a: unknown[]): void;
      clipCoefficient(...a: unknown[]): void;
    }>();
    const mk = (s: number[], dtype: 'f32' | 'bf16' | 'i32' = 'f32') => Tensor.zeros(s, { dtype, device }).handle;
    const p = mk([5]), g = mk([5]), m = mk([5]), v = mk([5]);
    const call = (over: Partial<Record<string, unknown>>) => {
      const a = { params: [p], grads: [g], m: [m], v: [v], wd: [0], lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, step: 1, scale: null, ...over };
      n.adamwStep(a.params, a.grads, a.m, a.v, a.wd, a.lr, a.b1, a.b2, a.eps, a.step, a.scale);
    };
    await assertThrows(() => call({ lr: NaN }), 'adamw', "'lr'", 'finite');
    await assertThrows(() => call({ lr: -1 }), 'adamw', "'lr'", '>= 0', '-1');
    await assertThrows(() => call({ b1: 1 }), 'adamw', "'beta1'", '[0, 1)', '1');
    await assertThrows(() => call({ b2: -0.5 }), 'adamw', "'beta2'", '-0.5');
    await assertThrows(() => call({ eps: 0 }), 'adamw', "'eps'", '> 0');
    await assertThrows(() => call({ step: 0 }), 'adamw', "'step'", '>= 1', '0');
    await assertThrows(() => call({ wd: [NaN] }), 'adamw', "'weightDecay' of params[0]", 'nan');
    await assertThrows(() => call({ params: [mk([5], 'bf16')] }), 'adamw', "'params[0]'", 'f32', 'bf16');
    await assertThrows(() => call({ grads: [mk([5], 'i32')] }), 'adamw', "'grads[0]'", 'f32 or bf16', 'i32');
    await assertThrows(() => call({ m: [mk([6])] }), 'adamw', "'m[0]'", '[5]', '[6]');
    await assertThrows(() => call({ v: [m] }), 'adamw', "'m[0]'", 'overlaps', "'v[0]'");
    await assertThrows(() => call({ grads: [g, g] }), 'adamw', 'as many grads');
    await assertThrows(() => call({ scale: mk([2]) }), 'adamw', "'gradScale'", 'one-element', '[2]');
    await assertThrows(() => call({ params: [5] }), 'adamw', "'params[0]'", 'tensor');
    // Across the list: a parameter twice, a gradient that is another tensor's parameter, a scale inside a moment.
    const p2 = mk([5]), m2 = mk([5]), v2 = mk([5]);
    const two = { grads: [g, mk([5])], m: [m, m2], v: [v, v2], wd: [0, 0] };
    await assertThrows(() => call({ ...two, params: [p, p] }), 'adamw', "'params[", 'shares memory', "'params[");
    await assertThrows(() => call({ ...two, params: [p, p2], grads: [g, p] }), 'adamw', "'grads[1]' overlaps 'params[0]'");
    const inside = native().view(v, [], 2);
    await assertThrows(() => call({ scale: inside }), 'adamw', "'gradScale' overlaps 'v[0]'");
    await assertThrows(() => n.sumSquares(mk([2]), [g]), 'sumSquares', "'sumSq'", 'one-element');
    await assertThrows(() => n.sumSquares(mk([]), [mk([3], 'i32')]), 'sumSquares', "'xs[0]'", 'i32');
    await assertThrows(() => n.clipCoefficient(mk([]), mk([]), mk([]), 0), 'clipCoefficient', "'maxNorm'", '> 0');
    const same = mk([]);
    await assertThrows(() => n.clipCoefficient(same, same, mk([]), 1), 'clipCoefficient', "'norm'", 'overlaps');
  });
});

if (!CHILD) {
  const s = suite('schedules');
  s('cosineWithWarmup: warmup, peak, midpoint, end, after', () => {
    const f = cosineWithWarmup({ maxLr: 6e-4, minLr: 6e-5, warmupSteps: 10, totalSteps: 110 });
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.abs(b) + 1e-18, `${what}: ${a} vs ${b}`);
    close(f(0), 6e-5, 'step 0');  // 6e-4 · 1/10
    close(f(4), 3e-4, 'step 4');
    close(f(9), 6e-4, 'step 9 (last warmup step)');
    close(f(10), 6e-4, 'step 10 (cosine starts at maxLr)');
    close(f(60), (6e-4 + 6e-5) / 2, 'step 60 (half way)');
    close(f(35), 6e-5 + 0.5 * (1 + Math.cos(Math.PI / 4)) * (6e-4 - 6e-5), 'step 35 (quarter)');
    close(f(110), 6e-5, 'step 110 (end)');
    close(f(1000), 6e-5, 'after the end');
    const noWarmup = cosineWithWarmup({ maxLr: 1, minLr: 0, warmupSteps: 0, totalSteps: 4 });
    close(noWarmup(0), 1, 'no warmup, step 0');
    close(noWarmup(2), 0.5, 'no warmup, step 2');
  });
  s('linearWarmup and constant', () => {
    const f = linearWarmup({ maxLr: 1e-3, warmupSteps: 4 });
    assert.equal([0, 1, 3, 4, 100].map(f), [2.5e-4, 5e-4, 1e-3, 1e-3, 1e-3]);
    const d = linearWarmup({ maxLr: 1, warmupSteps: 2, totalSteps: 12, minLr: 0.5 });
    assert.equal([0, 1, 2, 7, 12, 20].map(d), [0.5, 1, 1, 0.75, 0.5, 0.5]);
    assert.equal([0, 5, 1e6].map(constant(3e-4)), [3e-4, 3e-4, 3e-4]);
  });
  s('bad input', async () => {
    await assertThrows(() => cosineWithWarmup({ maxLr: NaN, minLr: 0, warmupSteps: 1, totalSteps: 2 }), 'cosineWithWarmup', "'maxLr'", 'NaN');
    await assertThrows(() => cosineWithWarmup({ maxLr: 1, minLr: 2, warmupSteps: 1, totalSteps: 2 }), 'cosineWithWarmup', "'minLr'", '<= maxLr', '2');
    await assertThrows(() => cosineWithWarmup({ maxLr: 1, minLr: 0, warmupSteps: 5, totalSteps: 2 }), 'cosineWithWarmup', "'totalSteps'", '>= 5', '2');
    await assertThrows(() => cosineWithWarmup({ maxLr: 1, minLr: 0, warmupSteps: 1.5, totalSteps: 2 }), 'cosineWithWarmup', "'warmupSteps'", '1.5');
    await assertThrows(() => constant(1)(-1), 'constant', "'step'", '-1');
    await assertThrows(() => linearWarmup({ maxLr: -1, warmupSteps: 0 }), 'linearWarmup', "'maxLr'", '-1');
  });
  s.run();
}

// Every CPU ISA level the machine has: the kernel tests again, in a child process per level.
if (CHILD) {
  const s = suite(`optim kernels at GLM_CPU_LEVEL=${process.env.GLM_CPU_LEVEL}`);
  s('the level took effect', () => assert.is(buildInfo().cpuLevel, process.env.GLM_CPU_LEVEL));
  kernelTests(s, 'cpu');
  s.run();
} else if (deviceAvailable('cpu')) {
  const s = suite('optim kernels at every CPU level');
  const levels = ['scalar', 'avx2', 'avx512'].slice(0, ['scalar', 'avx2', 'avx512'].indexOf(buildInfo().cpuLevel) + 1);
  for (const level of levels) {
    s(`GLM_CPU_LEVEL=${level}`, () => {
      const res = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--no-color'], {
        env: { ...process.env, GLM_CPU_LEVEL: level, GLM_OPTIM_LEVEL_CHILD: '1' },
        encoding: 'utf8',
        timeout: 120000,
      });
      const out = `${res.stdout}\n${res.stderr}`;
      assert.ok(res.status === 0 && /Passed:\s+4/.test(out), `level ${level} failed (status ${res.status}):\n${out}`);
    });
  }
  s.run();
}
