/**
 * HF GPT-2 interop: our state dict maps one to one onto GPT2Model's keys, with the four Conv1D
 * weights transposed to [in, out]; an HF dict (with "transformer." prefixes, mask buffers and a tied
 * lm_head) loads back into an equal model.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { scope, Tensor } from '../lib/index';
import { GPT, GPTConfig } from '../lib/models/gpt';
import { gptToHfStateDict, hfToGptStateDict, isHfConv1dWeight } from '../lib/models/gptHf';
import { assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

const CFG: GPTConfig = { vocabSize: 11, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 6, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000 };

/** The keys and shapes of Hugging Face's GPT2Model for this config (transformers' modeling_gpt2). */
function hfGpt2Keys(C: number, V: number, P: number): Record<string, number[]> {
  return {
    'wte.weight': [V, C], 'wpe.weight': [P, C],
    'h.0.ln_1.weight': [C], 'h.0.ln_1.bias': [C],
    'h.0.attn.c_attn.weight': [C, 3 * C], 'h.0.attn.c_attn.bias': [3 * C],
    'h.0.attn.c_proj.weight': [C, C], 'h.0.attn.c_proj.bias': [C],
    'h.0.ln_2.weight': [C], 'h.0.ln_2.bias': [C],
    'h.0.mlp.c_fc.weight': [C, 4 * C], 'h.0.mlp.c_fc.bias': [4 * C],
    'h.0.mlp.c_proj.weight': [4 * C, C], 'h.0.mlp.c_proj.bias': [C],
    'ln_f.weight': [C], 'ln_f.bias': [C],
  };
}

const hf = suite('GPT ↔ HF GPT-2 state dicts');

hf('our names and HF layout are GPT2Model\'s, Conv1D weights transposed', async () => {
  const m = new GPT(CFG, { seed: 9 });
  const out = gptToHfStateDict(m.stateDict());
  const expected = hfGpt2Keys(CFG.nEmbd, CFG.vocabSize, CFG.blockSize);
  assert.equal(Object.keys(out).sort(), Object.keys(expected).sort());
  for (const [k, shape] of Object.entries(expected)) assert.equal(out[k].shape, shape, k);
  const ours = (await m.stateDict()['h.0.attn.c_attn.weight'].toArray()) as Float32Array;  // [3C, C]
  const theirs = (await out['h.0.attn.c_attn.weight'].toArray()) as Float32Array;         // [C, 3C]
  const C = CFG.nEmbd;
  for (let o = 0; o < 3 * C; o++) for (let i = 0; i < C; i++) assert.is(theirs[i * 3 * C + o], ours[o * C + i], `[${i}, ${o}]`);
  assert.equal(Array.from(await out['wte.weight'].toArray()), Array.from(await m.stateDict()['wte.weight'].toArray()));
  assert.ok(out['wte.weight'] !== m.stateDict()['wte.weight'], 'copies, not the model\'s tensors');
  assert.ok(isHfConv1dWeight('h.11.mlp.c_proj.weight') && !isHfConv1dWeight('h.0.mlp.c_proj.bias') && !isHfConv1dWeight('wte.weight'));
  m.dispose();
});

hf('an HF GPT2LMHeadModel dict loads into an equal model (prefix, buffers and lm_head dropped)', async () => {
  const r = rng();
  const a = new GPT(CFG, { seed: r.int(0, 1000) }), b = new GPT(CFG, { seed: 1001 });
  const hfDict: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(gptToHfStateDict(a.stateDict()))) hfDict[`transformer.${k}`] = t;
  hfDict['transformer.h.0.attn.bias'] = Tensor.ones([1, 1, CFG.blockSize, CFG.blockSize]);  // the causal-mask buffer
  hfDict['lm_head.weight'] = hfDict['transformer.wte.weight'];
  scope(() => b.loadStateDict(hfToGptStateDict(hfDict)));
  const idx = Tensor.from(r.ints(2 * 5, 0, CFG.vocabSize), [2, 5]);
  assert.equal(Array.from(await b.forward(idx).logits!.toArray()), Array.from(await a.forward(idx).logits!.toArray()));
  // A checkpoint of another size is caught by loadStateDict, naming the tensor.
  const wrong = hfToGptStateDict({ ...hfDict, 'transformer.h.0.mlp.c_fc.weight': Tensor.zeros([8, 16]) });
  await assertThrows(() => b.loadStateDict(wrong), 'stateDict["h.0.mlp.c_fc.weight"]', 'shape [32, 8]', 'f32[16, 8]');
  await assertThrows(() => hfToGptStateDict({ 'h.0.attn.c_attn.weight': Tensor.zeros([24]) }), 'hfToGptStateDict', '2-D Conv1D weight');
  await assertThrows(() => gptToHfStateDict({ x: 3 } as unknown as Record<string, Tensor>), 'gptToHfStateDict', 'stateDict["x"]', 'a live Tensor');
  a.dispose();
  b.dispose();
});

hf.run();
