/**
 * GPT: forward (loss, logits, last-position logits) against the float64 reference for every
 * positional kind, gradients against central differences of the reference, parameter counts of the
 * presets without allocating them, state dicts, parameter groups, and bad input.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { noGrad, scope, Tensor } from '../lib/index';
import { GPT, GPT_PRESETS, gptConfig, GPTConfig, gptParameterCount, gptParameterSpecs } from '../lib/models/gpt';
import { ropeOp } from '../lib/nn/availableOps';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { centralDifferences, usedRows } from './helpers/gradcheck';
import { rng, Rng } from './helpers/random';
import { gptForwardRef, GptRefParams, randomGptParams } from './reference/gpt';

/** Awkward sizes: 3 heads of 8, vocab 13, T = 7 < blockSize = 9. */
const BASE: GPTConfig = { vocabSize: 13, nLayer: 2, nHead: 3, nEmbd: 24, blockSize: 9, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000 };
const B = 2, T = 7;

let ropeMissing = '';
try {
  ropeOp();
} catch (e) {
  ropeMissing = (e as Error).message;
}

/** A model of `cfg` with random (far from init) weights, and the same weights as float64 for the reference. */
function randomModel(cfg: GPTConfig, r: Rng, device: string): { model: GPT; ref: GptRefParams } {
  const model = new GPT(cfg, { seed: r.int(0, 1000), device });
  const values = randomGptParams(model.specs, () => r.normal());
  scope(() => model.loadStateDict(Object.fromEntries(model.specs.map((s) => [s.name, Tensor.from(values[s.name], s.shape, { device })]))));
  return { model, ref: values };
}

function batch(r: Rng, cfg: GPTConfig, device: string, b = B, t = T) {
  const ids = r.ints(b * t, 0, cfg.vocabSize);
  const tg = r.ints(b * t, 0, cfg.vocabSize);
  tg[3] = -100;  // one ignored target: the mean runs over the others
  return { ids, tg, idx: Tensor.from(ids, [b, t], { device }), targets: Tensor.from(tg, [b, t], { device }) };
}

const KINDS: [GPTConfig['positional'], boolean][] = [['learned', true], ['sinusoidal', false], ['rope', true]];

deviceSuites('GPT forward vs float64 reference', (test, device) => {
  for (const [positional, bias] of KINDS) {
    test(`${positional} positions, bias ${bias}: loss, logits and logitsLast`, async () => {
      const cfg = { ...BASE, positional, bias };
      const r = rng();
      const { model, ref } = randomModel(cfg, r, device);
      const { ids, tg, idx, targets } = batch(r, cfg, device);
      if (positional === 'rope' && ropeMissing) {
        console.log(`  [rope] compared with the reference skipped: ${ropeMissing}; checking the error instead`);
        await assertThrows(() => model.forward(idx, targets), 'not available', 'rope');
        return;
      }
      const expected = gptForwardRef(cfg, ref, ids, B, T, tg);
      // f32 through 2 blocks of width 24: rounding of a few hundred operations, far below 1e-4.
      const out = model.forward(idx, targets, { logits: true });
      assert.equal(out.logits!.shape, [B, T, cfg.vocabSize]);
      assert.equal(out.loss!.shape, []);
      assertClose([await out.loss!.item()], [expected.loss], 1e-4, 'loss');
      assertClose(await out.logits!.toArray(), expected.logits, 1e-4, 'logits');
      const noTargets = model.forward(idx);
      assert.is(noTargets.loss, undefined);
      assertClose(await noTargets.logits!.toArray(), expected.logits, 1e-4, 'logits without targets');
      assert.is(model.forward(idx, targets).logits, undefined, 'logits only when asked for');
      // Without a tape the modules free each intermediate as soon as it is consumed: same numbers.
      const inference = noGrad(() => model.forward(idx, targets, { logits: true }));
      assertClose([await inference.loss!.item()], [expected.loss], 1e-4, 'loss under noGrad');
      assertClose(await inference.logits!.toArray(), expected.logits, 1e-4, 'logits under noGrad');
      const autocast = noGrad(() => model.forward(idx, targets, { logits: true, autocast: 'bf16' }));
      assertClose(await autocast.logits!.toArray(), expected.logits, 3e-2, 'logits under noGrad and autocast');  // bf16 GEMMs: 2^-8 per rounding
      const last = noGrad(() => model.logitsLast(idx));
      assert.equal(last.shape, [B, cfg.vocabSize]);
      const V = cfg.vocabSize;
      const lastRef = Float64Array.from({ length: B * V }, (_, i) => expected.logits[(Math.floor(i / V) * T + T - 1) * V + (i % V)]);
      assertClose(await last.toArray(), lastRef, 1e-4, 'logitsLast');
      model.dispose();
    });
  }

  test('a shorter sequence (T = 1) and the full block (T = blockSize)', async () => {
    const r = rng();
    const { model, ref } = randomModel(BASE, r, device);
    for (const t of [1, BASE.blockSize]) {
      const { ids, idx } = batch(r, BASE, device, 1, t);
      const expected = gptForwardRef(BASE, ref, ids, 1, t);
      assertClose(await model.forward(idx).logits!.toArray(), expected.logits, 1e-4, `logits T=${t}`);
    }
    model.dispose();
  });
});

deviceSuites('GPT gradients vs central differences of the float64 reference', (test, device) => {
  for (const [positional, bias] of KINDS) {
    test(`${positional} positions, bias ${bias}: a few elements of every kind of parameter`, async () => {
      if (positional === 'rope' && ropeMissing) {
        console.log(`  [rope] gradient check skipped: ${ropeMissing}`);
        return;
      }
      const cfg = { ...BASE, positional, bias };
      const r = rng();
      const { model, ref } = randomModel(cfg, r, device);
      const { ids, tg, idx, targets } = batch(r, cfg, device);
      model.forward(idx, targets).loss!.backward();
      const grads = new Map<string, Float32Array>();
      for (const [name, t] of model.namedParameters()) grads.set(name, (await t.grad!.toArray()) as Float32Array);
      const refParams: GptRefParams = Object.fromEntries(Object.entries(ref).map(([n, v]) => [n, Float64Array.from(v)]));
      const lossAt = () => gptForwardRef(cfg, refParams, ids, B, T, tg).loss;
      const names = ['wte.weight', 'wpe.weight', 'h.0.ln_1.weight', 'h.0.ln_1.bias', 'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias',
        'h.1.attn.c_proj.weight', 'h.1.attn.c_proj.bias', 'h.0.ln_2.weight', 'h.1.mlp.c_fc.weight', 'h.1.mlp.c_fc.bias',
        'h.0.mlp.c_proj.weight', 'h.0.mlp.c_proj.bias', 'ln_f.weight', 'ln_f.bias'].filter((n) => grads.has(n));
      assert.ok(names.length >= (bias ? 13 : 7), `parameters checked: ${names.join(', ')}`);
      const { got, want } = centralDifferences({ params: refParams as Record<string, Float64Array>, grads, names, lossAt, r, candidates: usedRows(ids, cfg.nEmbd) });
      // f32 forward and backward through 2 small blocks: ~5e-7 relative seen; 1e-4 is the f32 budget of the kernels.
      assertClose(got, want, 1e-4, 'gradients');
      model.dispose();
    });
  }
});

const counts = suite('GPT parameter counts (no allocation)');

/** The closed form: per block 12·C² + 2·C (+ 11·C biases), embeddings, ln_f. */
function closedForm(c: GPTConfig): number {
  const C = c.nEmbd;
  const perBlock = 12 * C * C + 2 * C + (c.bias ? 11 * C : 0);
  return c.vocabSize * C + (c.positional === 'learned' ? c.blockSize * C : 0) + c.nLayer * perBlock + C + (c.bias ? C : 0);
}

counts('gpt2 with vocab 50257, tied head and learned positions is HF GPT-2\'s 124,439,808', () => {
  assert.is(gptParameterCount(gptConfig('gpt2')), 124439808);
  assert.is(gptParameterCount(gptConfig('gpt2', { vocabSize: 50304 })), 124439808 + 47 * 768);
});

counts('every preset and positional kind matches the closed form', () => {
  for (const name of Object.keys(GPT_PRESETS) as (keyof typeof GPT_PRESETS)[])
    for (const positional of ['learned', 'sinusoidal', 'rope'] as const)
      for (const bias of [true, false]) {
        const c = gptConfig(name, { positional, bias });
        assert.is(gptParameterCount(c), closedForm(c), `${name} ${positional} bias ${bias}`);
      }
  // nanoGPT's shakespeare-char model prints "number of parameters: 10.65M" (it leaves out wpe).
  const small = gptConfig('small');
  assert.is(((gptParameterCount(small) - small.blockSize * small.nEmbd) / 1e6).toFixed(2), '10.65');
});

counts('the allocated model has exactly the counted parameters, named as GPT-2\'s tensors', () => {
  const m = new GPT(BASE);
  const named = m.namedParameters();
  assert.is(named.reduce((n, [, t]) => n + t.numel, 0), gptParameterCount(BASE));
  assert.is(m.numParameters(), gptParameterCount(BASE));
  assert.equal(named.slice(0, 8).map(([n]) => n), ['wte.weight', 'wpe.weight', 'h.0.ln_1.weight', 'h.0.ln_1.bias',
    'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias', 'h.0.attn.c_proj.weight', 'h.0.attn.c_proj.bias']);
  assert.equal(named.slice(-2).map(([n]) => n), ['ln_f.weight', 'ln_f.bias']);
  assert.equal(named.find(([n]) => n === 'h.1.mlp.c_fc.weight')![1].shape, [4 * 24, 24], 'Linear weights are [out, in]');
  m.dispose();
});

counts.run();

const state = suite('GPT state dict and parameter groups');

state('stateDict / loadStateDict round trip, and the errors name what is wrong', async () => {
  const a = new GPT(BASE, { seed: 1 }), b = new GPT(BASE, { seed: 2 });
  const wa = await a.stateDict()['h.1.mlp.c_fc.weight'].toArray();
  assert.not.equal(Array.from(await b.stateDict()['h.1.mlp.c_fc.weight'].toArray()), Array.from(wa), 'seeds differ');
  b.loadStateDict(a.stateDict());
  for (const [name, t] of b.namedParameters())
    assert.equal(Array.from(await t.toArray()), Array.from(await a.stateDict()[name].toArray()), name);
  const sd = a.stateDict();
  const { ['ln_f.bias']: _dropped, ...missing } = sd;
  await assertThrows(() => b.loadStateDict(missing), 'GPT.loadStateDict', 'missing 1 tensor', '"ln_f.bias"');
  await assertThrows(() => b.loadStateDict({ ...sd, 'lm_head.weight': sd['wte.weight'] }), 'unexpected 1 tensor', '"lm_head.weight"');
  const wrong = Tensor.zeros([24, 96]);
  await assertThrows(() => b.loadStateDict({ ...sd, 'h.0.mlp.c_fc.weight': wrong }), 'stateDict["h.0.mlp.c_fc.weight"]', 'shape [96, 24]', 'f32[24, 96]');
  await assertThrows(() => b.loadStateDict({ ...sd, 'h.0.ln_1.bias': Tensor.zeros([24], { dtype: 'i32' }) }), 'h.0.ln_1.bias', 'f32 or bf16');
  // bf16 sources are widened.
  const bf = Tensor.from([0.5, -2, 3.25], [3]).cast('bf16');
  const c = new GPT({ ...BASE, vocabSize: 3, nEmbd: 3, nHead: 1, nLayer: 1 });
  const sdc = c.stateDict();
  c.loadStateDict({ ...sdc, 'ln_f.weight': bf });
  assert.equal(Array.from(await c.stateDict()['ln_f.weight'].toArray()), [0.5, -2, 3.25]);
  for (const m of [a, b, c]) m.dispose();
});

state('parameterGroups: only non-embedding matrices decay; every parameter once, with its name', () => {
  const m = new GPT(BASE);
  const [decay, rest] = m.parameterGroups(0.1);
  assert.is(decay.weightDecay, 0.1);
  assert.is(rest.weightDecay, 0);
  assert.equal(decay.names, m.namedParameters().filter(([n, t]) => t.rank === 2 && !/^w[tp]e\./.test(n)).map(([n]) => n));
  assert.ok(rest.names!.includes('wte.weight') && rest.names!.includes('wpe.weight') && rest.names!.includes('h.0.ln_1.bias'));
  assert.is(decay.params.length + rest.params.length, m.namedParameters().length);
  assert.is(m.parameterGroups()[0].weightDecay, undefined, 'no weightDecay: the optimizer default applies');
  m.dispose();
});

state.run();

const bad = suite('GPT bad input');

bad('config: unknown preset, nEmbd not divisible by nHead, unknown positional kind, bad fields', async () => {
  await assertThrows(() => gptConfig('huge' as 'tiny'), 'gptConfig', 'unknown preset "huge"', "'tiny', 'small', 'gpt2'");
  await assertThrows(() => GPT.fromPreset('nope' as 'tiny'), 'unknown preset "nope"');
  await assertThrows(() => gptConfig('tiny', { nEmbd: 50, nHead: 3 }), "config.nEmbd", 'a multiple of nHead (3)', 'got 50');
  await assertThrows(() => gptConfig('tiny', { positional: 'alibi' as 'rope' }), 'config.positional', "'learned', 'sinusoidal' or 'rope'", '"alibi"');
  await assertThrows(() => gptConfig('tiny', { nLayer: 0 }), 'config.nLayer', 'a positive integer', 'got 0');
  await assertThrows(() => gptConfig('tiny', { dropout: 1 }), 'config.dropout', '[0, 1)');
  await assertThrows(() => gptConfig('tiny', { n_layer: 3 } as unknown as GPTConfig), 'config.n_layer', 'unknown field "n_layer"');
  await assertThrows(() => gptConfig('tiny', { nEmbd: 258, nHead: 1 }), 'config.nHead', 'head size nEmbd / nHead <= 128');
  await assertThrows(() => gptConfig('tiny', { nEmbd: 6, nHead: 2, positional: 'rope' }), 'even head size');
  const { ropeBase: _r, ...noRope } = BASE;
  await assertThrows(() => new GPT(noRope as GPTConfig), 'GPT', 'config.ropeBase');
  assert.is(gptConfig(noRope as GPTConfig).ropeBase, 10000, 'gptConfig fills in ropeBase');
});

bad('forward: T > blockSize, wrong dtype ids, wrong shapes, bad options', async () => {
  const m = new GPT(BASE);
  const ids = (b: number, t: number) => Tensor.from(new Int32Array(b * t), [b, t]);
  await assertThrows(() => m.forward(ids(1, 10)), 'GPT.forward', "argument 'idx'", 'T <= blockSize (9)', 'T = 10');
  await assertThrows(() => m.logitsLast(ids(1, 10)), 'GPT.logitsLast', 'T <= blockSize (9)');
  await assertThrows(() => m.forward(Tensor.zeros([1, 4])), "argument 'idx'", 'an i32 Tensor of token ids [B, T]', 'f32[1, 4]');
  await assertThrows(() => m.forward(Tensor.from(new Int32Array(4), [4])), "argument 'idx'", 'shape [4]');
  await assertThrows(() => m.forward([1, 2] as unknown as Tensor), "argument 'idx'", 'an array of length 2');
  await assertThrows(() => m.forward(ids(2, 4), ids(2, 3)), "argument 'targets'", 'i32[2, 4]', 'i32[2, 3]');
  await assertThrows(() => m.forward(ids(2, 4), Tensor.zeros([2, 4])), "argument 'targets'", 'f32[2, 4]');
  await assertThrows(() => m.forward(ids(2, 4), null, { autocast: 'fp16' as 'bf16' }), 'opts.autocast', '"fp16"');
  await assertThrows(() => m.forward(ids(2, 4), null, { train: true } as never), 'opts.train', 'unknown option "train"');
  await assertThrows(() => m.forward(ids(2, 4), null, { training: true, dropoutSeed: -1 }), 'opts.dropoutSeed', 'a non-negative safe integer');
  // An id out of range is found by the kernel and reported at the next read, naming it.
  const outOfRange = Tensor.from(Int32Array.from([1, 13]), [1, 2]);
  await assertThrows(async () => m.forward(outOfRange).logits!.toArray(), 'embedding', '13');
  m.dispose();
});

bad.run();
