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
  const specs: ParamSpec[] = [embeddingSpec('wte.weight', V, C, INIT_STD)];                  // (V, C)
  if (config.positional === 'learned') specs.push(embeddingSpec('wpe.weight', blockSize, C, INIT_STD));  // (blockSize, C)
  for (let i = 0; i < L; i++) specs.push(...blockSpecs(`h.${i}`, C, L, bias));
  specs.push(...layerNormSpecs('ln_f', C, bias));
  return specs;
}

/**
 * The specs of one pre-LN block `prefix` (h.i) of width C in a model of L blocks: GPT-2's init, the two
 * projections into the residual stream scaled by 1/sqrt(2·L). Shared with the encoders.
 */
export function blockSpecs(prefix: string, C: number, L: number, bias: boolean): ParamSpec[] {
  const residualStd = INIT_STD / Math.sqrt(2 * L);
  return [
    ...layerNormSpecs(`${prefix}.ln_1`, C, bias),
    ...linearSpecs(`${prefix}.attn.c_attn`, C, 3 * C, INIT_STD, bias),                      // (3C, C)
    ...linearSpecs(`${prefix}.attn.c_proj`, C, C, residualStd, bias),                       // (C, C)
    ...layerNormSpecs(`${prefix}.ln_2`, C, bias),
    ...linearSpecs(`${prefix}.mlp.c_fc`, C, 4 * C, INIT_STD, bias),                         // (4C, C)
    ...linearSpecs(`${prefix}.mlp.c_proj`, 4 * C, C, residualStd, bias),                    // (C, 4C)
  ];
}

/** The number of parameters of a GPT with this config (tied head counted once), without allocating it. */
export function gptParameterCount(config: GPTConfig): number {
  return parameterCount(gptParameterSpecs(config));
}
