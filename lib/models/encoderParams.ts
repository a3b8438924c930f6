/**
 * An Encoder's parameters in one table: the names follow GPT's (wte, wpe, h.i.*, ln_f) so the blocks
 * are the same modules, plus what each architecture adds: BERT's segment table `wse` and its NSP
 * head `nsp`, GLM's block-position table `wbe` (the second of its 2D positions). The masked-LM / GLM
 * output head is tied to wte, as GPT's.
 */
import { embeddingSpec, layerNormSpecs, linearSpecs, parameterCount, ParamSpec } from '../nn/params';
import type { EncoderConfig } from './encoderConfig';
import { blockSpecs, INIT_STD } from './gptParams';

/** BERT's two segments: [CLS] A [SEP] is segment 0, B [SEP] segment 1. */
export const SEGMENT_COUNT = 2;

/**
 * Every parameter of an Encoder with this config, in order: wte, wpe, wse (bert) or wbe (glm), the
 * blocks (as GPT's: ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj), ln_f, then nsp (bert).
 * Init as GPT-2's (the residual projections scaled by 1/sqrt(2·nLayer)).
 */
export function encoderParameterSpecs(config: EncoderConfig): ParamSpec[] {
  const { vocabSize: V, nLayer: L, nEmbd: C, blockSize, bias, arch } = config;
  const specs: ParamSpec[] = [
    embeddingSpec('wte.weight', V, C, INIT_STD),                                        // (V, C)
    embeddingSpec('wpe.weight', blockSize, C, INIT_STD),                                // (blockSize, C)
  ];
  if (arch === 'bert') specs.push(embeddingSpec('wse.weight', SEGMENT_COUNT, C, INIT_STD));  // (2, C)
  // A span position runs from 1 (its start token) to the span's length + 1 <= blockSize; 0 is Part A.
  else specs.push(embeddingSpec('wbe.weight', blockSize, C, INIT_STD));                 // (blockSize, C)
  for (let i = 0; i < L; i++) specs.push(...blockSpecs(`h.${i}`, C, L, bias));
  specs.push(...layerNormSpecs('ln_f', C, bias));
  if (arch === 'bert') specs.push(...linearSpecs('nsp', C, 2, INIT_STD, true));         // (2, C)
  return specs;
}

/** The number of parameters of an Encoder with this config, without allocating it. */
export function encoderParameterCount(config: EncoderConfig): number {
  return parameterCount(encoderParameterSpecs(config));
}
