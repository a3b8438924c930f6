/**
 * Encoder (bert and glm): hidden states, the MLM + NSP and GLM losses against the float64
 * reference (awkward sizes, right padding, 2D positions, the prefix mask), gradients against central
 * differences of the reference, the GLM mask seen through the model (what Part A and Part B tokens can
 * depend on), and bad input.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { noGrad, scope, Tensor } from '../lib/index';
import { Encoder, EncoderConfig, encoderParameterCount } from '../lib/models/encoder';
import { Random } from '../lib/random';
import { glmBatch } from '../lib/train/objectives/glm';
import { selectedRows } from '../lib/train/objectives/mlmNsp';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { centralDifferences, usedRows } from './helpers/gradcheck';
import { rng, Rng } from './helpers/random';
import { encoderHiddenRef, glmLossRef, mlmNspLossRef } from './reference/encoder';
import { GptRefParams, randomGptParams } from './reference/gpt';

/** Awkward sizes: 3 heads of 8, vocab 17, block 13. */
const BASE: Omit<EncoderConfig, 'arch'> = { vocabSize: 17, nLayer: 2, nHead: 3, nEmbd: 24, blockSize: 13, dropout: 0, bias: true };
const GLM_IDS = { mask: 1, start: 2, end: 3 };

function randomModel(arch: 'bert' | 'glm', r: Rng, device: string, bias = true): { model: Encoder; ref: GptRefParams; cfg: EncoderConfig } {
  const cfg: EncoderConfig = { ...BASE, arch, bias };
  const model = new Encoder(cfg, { seed: r.int(0, 1000), device });
  const values = randomGptParams(model.specs, () => r.normal() * 0.5);
  scope(() => model.loadStateDict(Object.fromEntries(model.specs.map((s) => [s.name, Tensor.from(values[s.name], s.shape, { device })]))));
  return { model, ref: values, cfg };
}

const i32 = (a: ArrayLike<number>, shape: number[], device: string) => Tensor.from(Int32Array.from(a), shape, { dtype: 'i32', device });

/** A bert batch: B rows of T with right padding, segments, MLM targets at random positions. */
function bertBatch(r: Rng, B: number, T: number, lengths: number[], device: string) {
  const idx = r.ints(B * T, 4, BASE.vocabSize);
  const segments = new Int32Array(B * T);
  const mlmTargets = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) {
    const cut = 1 + r.int(0, lengths[b] - 1);
    for (let t = cut; t < lengths[b]; t++) segments[b * T + t] = 1;
    for (let t = 0; t < lengths[b]; t++) if (r.uniform(0, 1) < 0.4) mlmTargets[b * T + t] = r.int(0, BASE.vocabSize);
    mlmTargets[b * T] = r.int(0, BASE.vocabSize);  // every row counts at least once
  }
  const nspLabels = Int32Array.from({ length: B }, () => r.int(0, 2));
  const { rows, picked } = selectedRows(mlmTargets);
  return {
    host: { idx, segments, keyLengths: lengths, mlmTargets, nspLabels },
    batch: {
      idx: i32(idx, [B, T], device), segments: i32(segments, [B, T], device), keyLengths: i32(lengths, [B], device),
      mlmRows: rows, mlmTargets: i32(picked, [rows.length], device), nspLabels: i32(nspLabels, [B], device),
    },
  };
}

/** A GLM batch from the real objective code: windows of N tokens, spans blanked. */
function glmHostBatch(r: Rng, B: number, N: number, device: string) {
  const rows = Array.from({ length: B }, () => r.ints(N, 4, BASE.vocabSize));
  const batch = glmBatch(rows, GLM_IDS, new Random(r.int(0, 1 << 30)), device);
  return batch;
}

deviceSuites('Encoder vs float64 reference', (test, device) => {
  test('bert: hidden states with segments and right padding; MLM and NSP losses', async () => {
    const r = rng();
    const { model, ref, cfg } = randomModel('bert', r, device);
    const B = 3, T = 11, lengths = [11, 6, 2];
    const { host, batch } = bertBatch(r, B, T, lengths, device);
    const h = noGrad(() => model.hidden({ idx: batch.idx, segments: batch.segments, keyLengths: batch.keyLengths }));
    assert.equal(h.shape, [B, T, cfg.nEmbd]);
    const want = encoderHiddenRef(cfg, ref, { idx: host.idx, segments: host.segments }, B, T, { mask: 'none', keyLengths: lengths });
    // f32 through 2 blocks of width 24: rounding of a few hundred operations, far below 1e-4.
    assertClose(await h.toArray(), want, 1e-4, 'hidden');
    const losses = model.mlmNspLoss(batch);
    const wantLoss = mlmNspLossRef(cfg, ref, { idx: host.idx, segments: host.segments, keyLengths: lengths }, B, T, host.mlmTargets, host.nspLabels);
    assertClose([await losses.mlm.item(), await losses.nsp.item(), await losses.loss.item()], [wantLoss.mlm, wantLoss.nsp, wantLoss.mlm + wantLoss.nsp], 1e-4, 'losses');
    model.dispose();
  });

  test('glm: a blank-infilling batch (2D positions, prefix mask) and its loss', async () => {
    const r = rng();
    const { model, ref, cfg } = randomModel('glm', r, device);
    const B = 2, N = 9;
    const g = glmHostBatch(r, B, N, device);
    const [, L] = g.idx.shape;
    const host = { idx: await g.idx.toArray(), positions: await g.positions.toArray(), blockPositions: await g.blockPositions.toArray() };
    assert.ok(L > g.prefixLength && L <= cfg.blockSize, `L = ${L}, P = ${g.prefixLength}`);
    const h = noGrad(() => model.hidden({ idx: g.idx, positions: g.positions, blockPositions: g.blockPositions, mask: { prefix: g.prefixLength } }));
    assertClose(await h.toArray(), encoderHiddenRef(cfg, ref, host, B, L, { mask: { prefix: g.prefixLength } }), 1e-4, 'hidden');
    const loss = await model.glmLoss(g).item();
    const want = glmLossRef(cfg, ref, host, B, L, g.prefixLength, await g.targets.toArray());
    assertClose([loss], [want], 1e-4, 'glm loss');
    model.dispose();
  });
});

deviceSuites('Encoder gradients vs central differences of the float64 reference', (test, device) => {
  const check = async (model: Encoder, ref: GptRefParams, names: string[], lossAt: (p: GptRefParams) => number, r: Rng, usedTokens: ArrayLike<number>) => {
    const grads = new Map<string, Float32Array>();
    for (const [name, t] of model.namedParameters()) grads.set(name, (await t.grad!.toArray()) as Float32Array);
    const params = Object.fromEntries(Object.entries(ref).map(([n, v]) => [n, Float64Array.from(v)]));
    const { got, want } = centralDifferences({ params, grads, names, lossAt: () => lossAt(params), r, candidates: usedRows(usedTokens, model.config.nEmbd) });
    // f32 forward and backward through 2 small blocks: the f32 budget of the kernels.
    assertClose(got, want, 1e-4, 'gradients');
  };

  test('bert: MLM + NSP loss, every kind of parameter (segments, NSP head included)', async () => {
    const r = rng();
    const { model, ref, cfg } = randomModel('bert', r, device);
    const B = 2, T = 9, lengths = [9, 5];
    const { host, batch } = bertBatch(r, B, T, lengths, device);
    model.mlmNspLoss(batch).loss.backward();
    const lossAt = (p: GptRefParams) => {
      const l = mlmNspLossRef(cfg, p, { idx: host.idx, segments: host.segments, keyLengths: lengths }, B, T, host.mlmTargets, host.nspLabels);
      return l.mlm + l.nsp;
    };
    await check(model, ref, ['wte.weight', 'wpe.weight', 'wse.weight', 'h.0.attn.c_attn.weight', 'h.1.mlp.c_fc.bias', 'ln_f.weight', 'nsp.weight', 'nsp.bias'], lossAt, r, host.idx);
    model.dispose();
  });

  test('glm: blank-infilling loss, block-position table included', async () => {
    const r = rng();
    const { model, ref, cfg } = randomModel('glm', r, device);
    const B = 2, N = 9;
    const g = glmHostBatch(r, B, N, device);
    const [, L] = g.idx.shape;
    const host = { idx: await g.idx.toArray(), positions: await g.positions.toArray(), blockPositions: await g.blockPositions.toArray() };
    const targets = await g.targets.toArray();
    model.glmLoss(g).backward();
    await check(model, ref, ['wte.weight', 'wpe.weight', 'wbe.weight', 'h.0.ln_1.weight', 'h.1.attn.c_proj.weight', 'h.0.mlp.c_proj.bias', 'ln_f.bias'],
      (p) => glmLossRef(cfg, p, host, B, L, g.prefixLength, targets), r, host.idx);
    model.dispose();
  });
});

deviceSuites('GLM mask through the model', (test, device) => {
  test('Part A depends on all of Part A and none of Part B; a Part B token on Part A and earlier Part B only', async () => {
    const r = rng();
    const { model } = randomModel('glm', r, device);
    const L = 12, P = 7, C = BASE.nEmbd;
    const base = r.ints(L, 4, BASE.vocabSize);
    const pos1 = Int32Array.from({ length: L }, (_, i) => (i < P ? i : r.int(0, P)));
    const pos2 = Int32Array.from({ length: L }, (_, i) => (i < P ? 0 : 1 + ((i - P) % 3)));
    const hiddenOf = async (ids: Int32Array) => noGrad(() => model.hidden({
      idx: i32(ids, [1, L], device), positions: i32(pos1, [1, L], device), blockPositions: i32(pos2, [1, L], device), mask: { prefix: P },
    })).toArray();
    const h0 = await hiddenOf(base);
    for (const changed of [2, P, P + 2, L - 1]) {
      const ids = base.slice();
      ids[changed] = 4 + ((ids[changed] - 4 + 5) % (BASE.vocabSize - 4));
      const h1 = await hiddenOf(ids);
      for (let q = 0; q < L; q++) {
        let diff = 0;
        for (let c = 0; c < C; c++) diff = Math.max(diff, Math.abs(h1[q * C + c] - h0[q * C + c]));
        // Query q can see key `changed` iff it is in Part A or at or before q (the prefix mask).
        const sees = changed < P || changed <= q;
        if (sees) assert.ok(diff > 1e-4, `query ${q} should depend on token ${changed} (max change ${diff})`);
        else assert.ok(diff === 0, `query ${q} must not depend on token ${changed} (max change ${diff})`);
      }
    }
    model.dispose();
  });
});

const bad = suite('Encoder bad input');
bad('configs, inputs and losses of the wrong architecture name the argument', async () => {
  await assertThrows(() => new Encoder({ ...BASE, arch: 'gpt' } as never), "argument 'config.arch'", "'bert' or 'glm'");
  await assertThrows(() => new Encoder({ ...BASE, arch: 'bert', nHead: 5 }), "argument 'config.nEmbd'", 'a multiple of nHead');
  await assertThrows(() => new Encoder({ ...BASE, arch: 'bert', blockSize: 3 }), "argument 'config.blockSize'", 'at least 4');
  const bert = new Encoder({ ...BASE, arch: 'bert' });
  await assertThrows(() => bert.hidden({ idx: Tensor.from(new Int32Array(2 * 14), [2, 14], { dtype: 'i32' }) }), "argument 'idx'", 'T <= blockSize (13)', 'T = 14');
  await assertThrows(() => bert.hidden({ idx: Tensor.from([1, 2], [1, 2]) }), "argument 'idx'", 'an i32 Tensor');
  const idx = Tensor.from(new Int32Array(6), [2, 3], { dtype: 'i32' });
  await assertThrows(() => bert.hidden({ idx, blockPositions: idx }), "argument 'blockPositions'", "arch 'glm'");
  await assertThrows(() => bert.hidden({ idx, keyLengths: Tensor.from(new Int32Array(3), [3], { dtype: 'i32' }) }), "argument 'keyLengths'", 'i32 Tensor [2]');
  await assertThrows(() => bert.glmLoss({ idx, positions: idx, blockPositions: idx, targets: idx, prefixLength: 1 }), "needs arch 'glm'");
  await assertThrows(() => bert.hidden({ idx }, { training: 'yes' } as never), "argument 'opts.training'", 'a boolean');
  bert.dispose();
  const glm = new Encoder({ ...BASE, arch: 'glm' });
  await assertThrows(() => glm.glmLoss({ idx, positions: idx, blockPositions: idx, targets: idx, prefixLength: 3 }), "argument 'batch.prefixLength'", 'in [1, 2]');
  glm.dispose();
});

bad('parameter count of a preset without allocating it', () => {
  // wte 17×24 + wpe 13×24 + wse 2×24, 2 blocks of 12·24² + 13·24, ln_f 2·24, nsp 2·24 + 2.
  const C = 24, V = 17, T = 13;
  const perBlock = 12 * C * C + 13 * C;
  assert.is(encoderParameterCount({ ...BASE, arch: 'bert' }), V * C + T * C + 2 * C + 2 * perBlock + 2 * C + 2 * C + 2);
  assert.is(encoderParameterCount({ ...BASE, arch: 'glm' }), V * C + T * C + T * C + 2 * perBlock + 2 * C);
});

bad.run();
