/**
 * lib/nn: the modules against float64 references (Linear with bias, GELU and autocast), dotted
 * parameter names by composition, the weight-decay rule, seeded parameter creation and GPT-2's init
 * statistics, dropout site seeds, and the errors modules raise on tensors of the wrong shape.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { noGrad, ops, Tensor } from '../lib/index';
import { GPT, gptConfig } from '../lib/models/gpt';
import {
  Block, CausalSelfAttention, createParameters, decays, dropoutSiteSeed, embeddingSpec, ForwardContext, LayerNorm,
  layerNormSpecs, Linear, linearSpecs, MLP, parameterCount, ParamSpec,
} from '../lib/nn/index';
import { assertClose, assertThrows } from './helpers/assert';
import { rng } from './helpers/random';
import { geluScalarRef } from './reference/activation';

const nn = suite('nn modules');

/** rows · Wᵀ + b (W [out, in]), optionally through GELU, in float64. */
function linearRef(x: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number> | null, inF: number, outF: number, gelu: boolean): Float64Array {
  const N = x.length / inF;
  const y = new Float64Array(N * outF);
  for (let r = 0; r < N; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * W[o * inF + i];
      y[r * outF + o] = gelu ? geluScalarRef(s) : s;
    }
  return y;
}

nn('Linear: [out, in] weights, bias or none, fused GELU, and bf16 autocast with f32 master gradients', async () => {
  const r = rng();
  for (const [inF, outF, withBias, gelu] of [[7, 5, true, false], [16, 65, false, true], [1, 3, true, true]] as const) {
    const xv = r.normals(2 * 3 * inF), wv = r.normals(outF * inF), bv = r.normals(outF);
    const lin = new Linear(Tensor.from(wv, [outF, inF], { requiresGrad: true }), withBias ? Tensor.from(bv, [outF], { requiresGrad: true }) : null);
    assert.equal([lin.inFeatures, lin.outFeatures], [inF, outF]);
    const x = Tensor.from(xv, [2, 3, inF]);
    const y = lin.forward(x, undefined, gelu ? 'gelu' : undefined);
    assert.equal(y.shape, [2, 3, outF]);
    const expected = linearRef(xv, wv, withBias ? bv : null, inF, outF, gelu);
    assertClose(await y.toArray(), expected, 1e-4, `Linear ${inF}→${outF}`);
    const yb = lin.forward(x, new ForwardContext({ autocast: 'bf16' }), gelu ? 'gelu' : undefined);
    assert.is(yb.dtype, 'bf16');
    assertClose(await yb.toArray(), expected, 2e-2, `Linear ${inF}→${outF} under autocast`);  // bf16 inputs, f32 accumulation
    ops.sum(yb.cast('f32')).backward();
    assert.is(lin.weight.grad!.dtype, 'f32', 'the master weight gets an f32 gradient');
    assert.equal(lin.namedParameters().map(([n]) => n), withBias ? ['weight', 'bias'] : ['weight']);
  }
});

nn('modules compose dotted names after GPT-2\'s tensors', () => {
  const C = 8;
  const p = createParameters([
    ...layerNormSpecs('ln_1', C, true), ...linearSpecs('c_attn', C, 3 * C, 0.02, true), ...linearSpecs('c_proj', C, C, 0.02, false),
    ...layerNormSpecs('ln_2', C, false), ...linearSpecs('c_fc', C, 4 * C, 0.02, true), ...linearSpecs('m_proj', 4 * C, C, 0.02, true),
  ]);
  const lin = (n: string) => new Linear(p.get(`${n}.weight`)!, p.get(`${n}.bias`) ?? null);
  const block = new Block(new LayerNorm(p.get('ln_1.weight')!, p.get('ln_1.bias')!), new CausalSelfAttention(lin('c_attn'), lin('c_proj'), 2),
    new LayerNorm(p.get('ln_2.weight')!, null), new MLP(lin('c_fc'), lin('m_proj')));
  assert.equal(block.namedParameters('h.3.').map(([n]) => n), [
    'h.3.ln_1.weight', 'h.3.ln_1.bias', 'h.3.attn.c_attn.weight', 'h.3.attn.c_attn.bias', 'h.3.attn.c_proj.weight',
    'h.3.ln_2.weight', 'h.3.mlp.c_fc.weight', 'h.3.mlp.c_fc.bias', 'h.3.mlp.c_proj.weight', 'h.3.mlp.c_proj.bias',
  ]);
  const x = Tensor.from(rng().normals(2 * 5 * C), [2, 5, C]);
  assert.equal(noGrad(() => block.forward(x)).shape, [2, 5, C]);
  block.dispose();
  assert.ok(block.parameters().every((t) => t.disposed), 'dispose frees every parameter');
});

nn('the weight-decay rule: matrices decay, embeddings, biases and norms do not', () => {
  assert.ok(decays([4, 3], false));
  assert.not.ok(decays([4, 3], true));
  assert.not.ok(decays([4], false));
  assert.ok(linearSpecs('fc', 3, 4, 0.02, true).map((s) => s.decay).join() === 'true,false');
  assert.not.ok(embeddingSpec('wte.weight', 10, 4, 0.02).decay);
  assert.ok(layerNormSpecs('ln', 4, true).every((s) => !s.decay));
  const specs = linearSpecs('fc', 3, 4, 0.02, true);
  assert.is(parameterCount(specs), 16);
});

nn('createParameters: seeded per (seed, name), independent of the other specs; f32 leaves that require grad', async () => {
  const a: ParamSpec[] = [embeddingSpec('wte.weight', 5, 4, 1), ...linearSpecs('fc', 4, 3, 1, true)];
  const p1 = createParameters(a, { seed: 7 });
  const p2 = createParameters([...linearSpecs('fc', 4, 3, 1, true)], { seed: 7 });
  const p3 = createParameters(a, { seed: 8 });
  const vals = async (m: Map<string, Tensor>, n: string) => Array.from(await m.get(n)!.toArray());
  assert.equal(await vals(p1, 'fc.weight'), await vals(p2, 'fc.weight'), 'same seed and name: same values');
  assert.not.equal(await vals(p1, 'fc.weight'), await vals(p3, 'fc.weight'), 'another seed: other values');
  assert.not.equal(await vals(p1, 'fc.weight'), (await vals(p1, 'wte.weight')).slice(0, 12), 'another name: other values');
  assert.equal(await vals(p1, 'fc.bias'), [0, 0, 0]);
  for (const t of p1.values()) assert.ok(t.requiresGrad && t.dtype === 'f32' && t.gradFn === null);
  await assertThrows(() => createParameters(a, { seed: -1 }), 'createParameters', 'seed', 'non-negative safe integer');
  await assertThrows(() => createParameters([...a, ...a]), 'unique parameter names', '"wte.weight" twice');
});

nn('GPT-2 init: N(0, 0.02²), residual projections / sqrt(2·nLayer), biases 0, LayerNorm gains 1', async () => {
  const cfg = gptConfig('tiny', { nLayer: 8, nEmbd: 128, nHead: 4, vocabSize: 256 });
  const m = new GPT(cfg, { seed: 5 });
  const std = async (name: string) => {
    const v = await m.stateDict()[name].toArray();
    let s = 0, s2 = 0;
    for (const x of v) (s += x), (s2 += x * x);
    return { mean: s / v.length, std: Math.sqrt(s2 / v.length - (s / v.length) ** 2) };
  };
  // 16k-65k draws: the sample std is within ~1% of the true one.
  for (const [name, want] of [['wte.weight', 0.02], ['wpe.weight', 0.02], ['h.2.attn.c_attn.weight', 0.02], ['h.2.mlp.c_fc.weight', 0.02],
    ['h.2.attn.c_proj.weight', 0.02 / 4], ['h.7.mlp.c_proj.weight', 0.02 / 4]] as const) {
    const s = await std(name);
    assert.ok(Math.abs(s.std / want - 1) < 0.03, `${name}: std ${s.std} vs ${want}`);
    assert.ok(Math.abs(s.mean) < want * 0.03, `${name}: mean ${s.mean}`);
  }
  assert.ok((await m.stateDict()['h.4.mlp.c_fc.bias'].toArray()).every((v) => v === 0));
  assert.ok((await m.stateDict()['ln_f.weight'].toArray()).every((v) => v === 1));
  const small = new GPT({ ...cfg, nLayer: 2 }, { seed: 5 });
  assert.equal(Array.from(await small.stateDict()['h.1.ln_1.weight'].toArray()), Array.from(await m.stateDict()['h.1.ln_1.weight'].toArray()));
  assert.equal(Array.from(await small.stateDict()['h.1.attn.c_attn.weight'].toArray()).slice(0, 50),
    Array.from(await m.stateDict()['h.1.attn.c_attn.weight'].toArray()).slice(0, 50), 'a layer starts the same whatever the depth (same shape, same name)');
  m.dispose();
  small.dispose();
});

nn('dropout site seeds are distinct across sites and steps; dropout 0 is the identity', () => {
  const seen = new Set<number>();
  for (let seed = 0; seed < 50; seed++) for (let site = 0; site < 25; site++) seen.add(dropoutSiteSeed(seed, site));
  assert.is(seen.size, 50 * 25);
  assert.is(dropoutSiteSeed(2 ** 40 + 3, 0) === dropoutSiteSeed(3, 0), false, 'high seed bits matter');
  const ctx = new ForwardContext();
  const x = Tensor.zeros([3]);
  assert.is(ctx.dropout(x), x);
  assert.is(ctx.dropoutSites, 0);
});

nn('modules reject tensors of the wrong shape, naming the module and the argument', async () => {
  await assertThrows(() => new Linear(Tensor.zeros([3, 4, 5]), null), 'Linear', "argument 'weight'", 'f32[?, ?]', 'f32[3, 4, 5]');
  await assertThrows(() => new Linear(Tensor.zeros([3, 4]), Tensor.zeros([4])), 'Linear', "argument 'bias'", 'f32[3]', 'f32[4]');
  await assertThrows(() => new Linear(Tensor.zeros([3, 4], { dtype: 'bf16' }), null), "argument 'weight'", 'bf16[3, 4]');
  await assertThrows(() => new LayerNorm(Tensor.ones([4]), Tensor.zeros([5])), 'LayerNorm', "argument 'bias'", 'f32[4]');
  const lin = (i: number, o: number) => new Linear(Tensor.zeros([o, i]), null);
  await assertThrows(() => new CausalSelfAttention(lin(8, 16), lin(8, 8), 2), 'SelfAttention', "argument 'c_attn'", 'a Linear 8 → 24');
  await assertThrows(() => new CausalSelfAttention(lin(8, 24), lin(8, 8), 3), 'SelfAttention', "argument 'nHead'", 'a positive divisor of the width 8', 'got 3');
  await assertThrows(() => new MLP(lin(8, 32), lin(16, 8)), 'MLP', "argument 'c_proj'", 'a Linear 32 → 8');
});

nn.run();
