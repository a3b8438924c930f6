/**
 * GPT in training: the loss of a tiny model falls on a fixed synthetic sequence with AdamW; bf16
 * autocast stays close to f32 (loss and gradients); dropout is deterministic per seed and off
 * outside training; allocated memory stays flat over a few dozen steps.
 */

import * as assert from 'uvu/assert';

import * as glm from '../lib/index';
import { optim, scope, Tensor } from '../lib/index';
import { GPT, GPTConfig } from '../lib/models/gpt';
import { dropoutOp } from '../lib/nn/availableOps';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { settledAllocated } from './helpers/memory';
import { rng, Rng } from './helpers/random';
import { randomGptParams } from './reference/gpt';

let dropoutMissing = '';
try {
  dropoutOp();
} catch (e) {
  dropoutMissing = (e as Error).message;
}

const TINY: GPTConfig = { vocabSize: 17, nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 16, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000 };

/** A fixed, learnable sequence: token i+1 = (token i · 5 + 3) mod V, B rows with different starts. */
function synthetic(cfg: GPTConfig, B: number, T: number, device: string) {
  const ids = new Int32Array(B * T), tg = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let t0 = (b * 7 + 1) % cfg.vocabSize;
    for (let t = 0; t < T; t++) {
      const next = (t0 * 5 + 3) % cfg.vocabSize;
      ids[b * T + t] = t0;
      tg[b * T + t] = next;
      t0 = next;
    }
  }
  return { idx: Tensor.from(ids, [B, T], { device }), targets: Tensor.from(tg, [B, T], { device }) };
}

function withRandomWeights(cfg: GPTConfig, r: Rng, device: string): GPT {
  const m = new GPT(cfg, { device, seed: r.int(0, 1000) });
  const v = randomGptParams(m.specs, () => r.normal());
  scope(() => m.loadStateDict(Object.fromEntries(m.specs.map((s) => [s.name, Tensor.from(v[s.name], s.shape, { device })]))));
  return m;
}

async function gradsOf(m: GPT): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, t] of m.namedParameters()) {
    out.set(n, (await t.grad!.toArray()) as Float32Array);
    t.grad!.dispose();
    t.grad = null;
  }
  return out;
}

deviceSuites('GPT training', (test, device) => {
  test('the loss of a tiny model falls on a fixed sequence with AdamW (parameterGroups)', async () => {
    const m = new GPT(TINY, { device, seed: 3 });
    const opt = new optim.AdamW(m.parameterGroups(0.01), { lr: 3e-3 });
    const { idx, targets } = synthetic(TINY, 4, 16, device);
    const losses: number[] = [];
    for (let step = 0; step < 150; step++) {
      const loss = scope(() => {
        const l = m.forward(idx, targets, { training: true }).loss!;
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l.detach();
      });
      if (step % 50 === 0 || step === 149) losses.push(await loss.item());
      loss.dispose();
    }
    // Starts near ln(17) = 2.83 (GPT-2 init); a deterministic map of the previous token is learnt quickly.
    assert.ok(Math.abs(losses[0] - Math.log(TINY.vocabSize)) < 0.3, `initial loss ${losses[0]} near ln V`);
    assert.ok(losses[losses.length - 1] < 0.1 * losses[0], `loss falls: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    opt.dispose();
    m.dispose();
  });

  for (const positional of ['learned', 'sinusoidal'] as const) {
    test(`bf16 autocast: loss within 2e-2 of f32 and gradients close (${positional})`, async () => {
      const cfg = { ...TINY, positional };
      const r = rng();
      const m = withRandomWeights(cfg, r, device);
      const { idx, targets } = synthetic(cfg, 2, 16, device);
      const l32 = m.forward(idx, targets).loss!;
      l32.backward();
      const g32 = await gradsOf(m);
      const l16 = m.forward(idx, targets, { autocast: 'bf16' }).loss!;
      l16.backward();
      const g16 = await gradsOf(m);
      // bf16 keeps 8 bits of mantissa (2^-8 ≈ 4e-3 per rounding), accumulated in f32: 2e-2 as the kernels' bf16 budget.
      assertClose([await l16.item()], [await l32.item()], 2e-2, 'autocast loss');
      for (const [name, g] of g32) {
        const autocastGrad = g16.get(name)!;
        assert.ok(autocastGrad instanceof Float32Array, `${name}: f32 gradient for the f32 master weight`);
        // Gradients pass through ~10 bf16 roundings (two blocks forward and back): ~1.3e-2 seen, 5e-2 allowed.
        assertClose(autocastGrad, g, 5e-2, `autocast gradient of ${name}`);
      }
      for (const [, t] of m.namedParameters()) assert.is(t.dtype, 'f32');
      const logits = m.forward(idx, null, { autocast: 'bf16' }).logits!;
      assert.is(logits.dtype, 'bf16');
      m.dispose();
    });
  }

  test('dropout: off outside training; in training deterministic per seed, different across seeds', async () => {
    const r = rng();
    const withDropout = withRandomWeights({ ...TINY, dropout: 0.2 }, r, device);
    const plain = new GPT(TINY, { device });
    plain.loadStateDict(withDropout.stateDict());
    const { idx, targets } = synthetic(TINY, 2, 16, device);
    const evalLoss = await withDropout.forward(idx, targets).loss!.item();
    assert.is(evalLoss, await plain.forward(idx, targets).loss!.item(), 'training false: no dropout');
    assert.is(await plain.forward(idx, targets, { training: true, dropoutSeed: 5 }).loss!.item(), evalLoss, 'dropout 0: training changes nothing');
    if (dropoutMissing) {
      console.log(`  [dropout] mask checks skipped: ${dropoutMissing}; checking the error instead`);
      await assertThrows(() => withDropout.forward(idx, targets, { training: true, dropoutSeed: 1 }), 'dropout', 'not available');
    } else {
      const at = async (seed: number) => withDropout.forward(idx, targets, { training: true, dropoutSeed: seed }).loss!.item();
      const a = await at(1), a2 = await at(1), b = await at(2);
      assert.is(a, a2, 'same seed, same loss');
      assert.is.not(a, evalLoss, 'dropout changes the loss');
      assert.is.not(a, b, 'another seed, other masks');
      const unseeded1 = await withDropout.forward(idx, targets, { training: true }).loss!.item();
      const unseeded2 = await withDropout.forward(idx, targets, { training: true }).loss!.item();
      assert.is.not(unseeded1, unseeded2, 'without a seed, each training pass draws new masks');
    }
    withDropout.dispose();
    plain.dispose();
  });

  test('allocated bytes stay flat over 40 steps (autocast, logitsLast, and dropout when available)', async () => {
    const cfg = { ...TINY, dropout: dropoutMissing ? 0 : 0.1 };
    const m = new GPT(cfg, { device, seed: 4 });
    const opt = new optim.AdamW(m.parameterGroups(0.1), { lr: 1e-3 });
    const { idx, targets } = synthetic(cfg, 2, 16, device);
    let at10 = 0;
    for (let step = 1; step <= 40; step++) {
      const loss = scope(() => {
        const l = m.forward(idx, targets, { training: true, dropoutSeed: step, autocast: step % 2 ? 'bf16' : undefined }).loss!;
        l.backward();
        opt.step();
        opt.zeroGrad();
        glm.noGrad(() => m.logitsLast(idx));
        glm.noGrad(() => m.forward(idx, targets));
        return l.detach();
      });
      await loss.item();
      loss.dispose();
      if (step === 10) at10 = await settledAllocated(device);
    }
    const at40 = await settledAllocated(device);
    assert.is(at40, at10, `allocated bytes after step 10 (${at10}) and step 40 (${at40})`);
    opt.dispose();
    m.dispose();
  });
});
