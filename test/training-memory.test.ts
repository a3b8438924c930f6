/**
 * A small transformer trained for 1000 steps with forward, backward and AdamW: the loss falls and the
 * allocated device bytes stay flat (the tape and scopes free every activation and gradient).
 */
import * as assert from 'uvu/assert';

import { ops, optim, scope, Tensor } from '../lib/index';
import { deviceSuites } from './helpers/devices';
import { settledAllocated } from './helpers/memory';
import { rng } from './helpers/random';

const V = 11, C = 16, H = 2, T = 8, B = 2;

function tinyModel(device: string) {
  const r = rng();
  const p = (shape: number[], std: number) =>
    Tensor.from(r.normals(shape.reduce((a, b) => a * b, 1), std), shape, { device, requiresGrad: true });
  const ones = (n: number) => Tensor.ones([n], { device, requiresGrad: true });
  const zeros = (n: number) => Tensor.zeros([n], { device, requiresGrad: true });
  return {
    wte: p([V, C], 0.1), wpe: p([T, C], 0.1),
    ln1w: ones(C), ln1b: zeros(C), qkvW: p([3 * C, C], 0.1), qkvB: zeros(3 * C), projW: p([C, C], 0.1), projB: zeros(C),
    ln2w: ones(C), ln2b: zeros(C), fcW: p([4 * C, C], 0.1), fcB: zeros(4 * C), fc2W: p([C, 4 * C], 0.1), fc2B: zeros(C),
    lnfw: ones(C), lnfb: zeros(C),
  };
}
type Model = ReturnType<typeof tinyModel>;

function forward(m: Model, ids: Tensor, targets: Tensor, positions: Tensor): Tensor {
  let x = ops.add(ops.embedding(m.wte, ids), ops.embedding(m.wpe, positions));  // (B, T, C)
  const h = ops.layerNorm(x, m.ln1w, m.ln1b);
  const qkv = ops.linear(h, m.qkvW, m.qkvB).reshape([B, T, 3, H, C / H]);
  const heads = ops.permute(qkv, [2, 0, 3, 1, 4]);  // (3, B, H, T, D)
  const y = ops.attention(heads.select(0), heads.select(1), heads.select(2), { mask: 'causal' });
  const merged = ops.permute(y, [0, 2, 1, 3]).reshape([B, T, C]);
  x = ops.add(x, ops.linear(merged, m.projW, m.projB));
  const h2 = ops.layerNorm(x, m.ln2w, m.ln2b);
  x = ops.add(x, ops.linear(ops.matmul(h2, m.fcW, { transB: true, bias: m.fcB, activation: 'gelu' }), m.fc2W, m.fc2B));
  const logits = ops.matmul(ops.layerNorm(x, m.lnfw, m.lnfb), m.wte, { transB: true });  // tied head (B, T, V)
  return ops.softmaxCrossEntropy(logits, targets);
}

deviceSuites('training memory', (test, device) => {
  test('1000 steps of forward + backward + AdamW keep allocated bytes flat while the loss falls', async () => {
    const m = tinyModel(device);
    const adamw = new optim.AdamW(Object.values(m), { lr: 3e-3, weightDecay: 0.01 });
    // A fixed, learnable sequence: each token is the previous plus 3, mod V.
    const seq = Int32Array.from({ length: B * (T + 1) }, (_, i) => (i * 3 + Math.floor(i / (T + 1))) % V);
    const ids = Tensor.from(Int32Array.from({ length: B * T }, (_, i) => seq[Math.floor(i / T) * (T + 1) + (i % T)]), [B, T], { device });
    const targets = Tensor.from(Int32Array.from({ length: B * T }, (_, i) => seq[Math.floor(i / T) * (T + 1) + (i % T) + 1]), [B, T], { device });
    const positions = Tensor.from(Int32Array.from({ length: T }, (_, i) => i), [T], { device });
    const losses: number[] = [];
    let allocatedAt10 = 0;
    for (let step = 1; step <= 1000; step++) {
      const loss = scope(() => {
        const l = forward(m, ids, targets, positions);
        l.backward();
        adamw.step();
        adamw.zeroGrad();
        return l.detach();
      });
      if (step === 1 || step % 100 === 0) losses.push(await loss.item());
      loss.dispose();
      if (step === 10) allocatedAt10 = await settledAllocated(device);
    }
    const allocatedAt1000 = await settledAllocated(device);
    assert.is(allocatedAt1000, allocatedAt10, `allocated bytes after step 10 (${allocatedAt10}) and step 1000 (${allocatedAt1000})`);
    assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `loss falls: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  });
});
