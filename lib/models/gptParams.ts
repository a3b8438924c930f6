/**
 * GPT's parameters in one table: names after GPT-2's checkpoint tensors (so Hugging Face GPT-2 weights
 * map one to one, see gptHf.ts), shapes, GPT-2's init and the weight-decay flag. A pure function of
 * the config: the parameter count of a 124M model is known without allocating it.
 */
import { embeddingSpec, layerNormSpecs, linearSpecs, parameterCount, ParamSpec } from '../nn/params';
import type { GPTConfig } from './gptConfig';

/** GPT-2's init scale for every weight matrix and embedding. */
export const INIT_STD = 0.02;

/**
 * Every parameter of a GPT with this config, in order: wte, wpe (learned positions only), per block
 * ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj, then ln_f. Weights are N(0, 0.02²),
 * except the two projections into the residual stream (attn.c_proj, mlp.c_proj), scaled by
 * 1/sqrt(2·nLayer) as in GPT-2 so the stream's variance does not grow with depth; biases zero;
 * LayerNorm gains one. There is no lm_head: the output head is tied to wte.
 */
export function gptParameterSpecs(config: GPTConfig): ParamSpec[] {
  const { vocabSize: V, nLayer: L, nEmbd: C, blockSize, bias } = config;
  const residualStd = INIT_STD / Math.sqrt(2 * L);
  const specs: ParamSpec[] = [embeddingSpec('wte.weight', V, C, INIT_STD)];                  // (V, C)
  if (config.positional === 'learned') specs.push(embeddingSpec('wpe.weight', blockSize, C, INIT_STD));  // (blockSize, C)
  for (let i = 0; i < L; i++) {
    const h = `h.${i}`;
    specs.push(
      ...layerNormSpecs(`${h}.ln_1`, C, bias),
      ...linearSpecs(`${h}.attn.c_attn`, C, 3 * C, INIT_STD, bias),                         // (3C, C)
      ...linearSpecs(`${h}.attn.c_proj`, C, C, residualStd, bias),                          // (C, C)
      ...layerNormSpecs(`${h}.ln_2`, C, bias),
      ...linearSpecs(`${h}.mlp.c_fc`, C, 4 * C, INIT_STD, bias),                            // (4C, C)
      ...linearSpecs(`${h}.mlp.c_proj`, 4 * C, C, residualStd, bias),                       // (C, 4C)
    );
  }
  specs.push(...layerNormSpecs('ln_f', C, bias));
  return specs;
}

/** The number of parameters of a GPT with this config (tied head counted once), without allocating it. */
export function gptParameterCount(config: GPTConfig): number {
  return parameterCount(gptParameterSpecs(config));
}
