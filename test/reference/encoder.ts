/**
 * Float64 reference of the Encoder (bert and glm) and of the classifier on top of it, written the
 * plain way from per-parameter arrays: token + position (+ segment or block-position) embeddings,
 * the same pre-LayerNorm blocks as GPT's reference under the given mask, ln_f, then the heads:
 * tied masked-LM / GLM logits, BERT's NSP head on [CLS], and a classification head on a pooled row.
 */
import { crossEntropyRef } from './crossEntropy';
import { GptRefParams, linearRef, transformerBlocksRef, BlocksAttentionRef } from './gpt';
import { layerNormRef } from './layerNorm';

/** The architecture fields the reference reads (an EncoderConfig fits). */
export interface EncoderRefConfig {
  arch: 'bert' | 'glm';
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  bias: boolean;
}

/** One input, row-major (B·T each); absent positions are 0..T-1, absent segments / block positions 0. */
export interface EncoderRefInput {
  idx: ArrayLike<number>;
  positions?: ArrayLike<number>;
  segments?: ArrayLike<number>;
  blockPositions?: ArrayLike<number>;
}

/** The final hidden states ln_f(blocks(embeddings)), (B·T × C). */
export function encoderHiddenRef(cfg: EncoderRefConfig, p: GptRefParams, input: EncoderRefInput, B: number, T: number, attention: BlocksAttentionRef): Float64Array {
  const C = cfg.nEmbd, N = B * T;
  const x = new Float64Array(N * C);
  for (let r = 0; r < N; r++) {
    const pos = input.positions ? input.positions[r] : r % T;
    const extra = cfg.arch === 'bert' ? ['wse.weight', input.segments ? input.segments[r] : 0] as const : ['wbe.weight', input.blockPositions ? input.blockPositions[r] : 0] as const;
    for (let c = 0; c < C; c++)
      x[r * C + c] = p['wte.weight'][input.idx[r] * C + c] + p['wpe.weight'][pos * C + c] + p[extra[0]][extra[1] * C + c];
  }
  const h = transformerBlocksRef({ ...cfg, ropeBase: 10000 }, p, x, B, T, attention);
  return layerNormRef(h, p['ln_f.weight'], cfg.bias ? p['ln_f.bias'] : null, C, 1e-5).out;
}

/** The tied head over rows (N × C) → logits (N × V). */
export function tiedLogitsRef(cfg: EncoderRefConfig, p: GptRefParams, rows: ArrayLike<number>, N: number): Float64Array {
  return linearRef(rows, N, p['wte.weight'], undefined, cfg.nEmbd, cfg.vocabSize);
}

/** Rows `rows` of x (· × C). */
export function pickRowsRef(x: ArrayLike<number>, rows: readonly number[], C: number): Float64Array {
  const out = new Float64Array(rows.length * C);
  rows.forEach((r, i) => {
    for (let c = 0; c < C; c++) out[i * C + c] = x[r * C + c];
  });
  return out;
}

/** BERT's losses: masked-LM cross-entropy over targets != -100, NSP cross-entropy on [CLS]. */
export function mlmNspLossRef(cfg: EncoderRefConfig, p: GptRefParams, input: EncoderRefInput & { keyLengths: ArrayLike<number> }, B: number, T: number,
  mlmTargets: ArrayLike<number>, nspLabels: ArrayLike<number>): { mlm: number; nsp: number } {
  const h = encoderHiddenRef(cfg, p, input, B, T, { mask: 'none', keyLengths: input.keyLengths });
  const mlm = crossEntropyRef(tiedLogitsRef(cfg, p, h, B * T), mlmTargets, cfg.vocabSize).loss;
  const cls = pickRowsRef(h, Array.from({ length: B }, (_, b) => b * T), cfg.nEmbd);
  const nsp = crossEntropyRef(linearRef(cls, B, p['nsp.weight'], p['nsp.bias'], cfg.nEmbd, 2), nspLabels, 2).loss;
  return { mlm, nsp };
}

/** GLM's loss: cross-entropy of the tied head on Part B (positions P..L-1) against `targets` (B × (L-P)). */
export function glmLossRef(cfg: EncoderRefConfig, p: GptRefParams, input: EncoderRefInput, B: number, L: number, P: number, targets: ArrayLike<number>): number {
  const h = encoderHiddenRef(cfg, p, input, B, L, { mask: { prefix: P } });
  const rows: number[] = [];
  for (let b = 0; b < B; b++) for (let t = P; t < L; t++) rows.push(b * L + t);
  return crossEntropyRef(tiedLogitsRef(cfg, p, pickRowsRef(h, rows, cfg.nEmbd), rows.length), targets, cfg.vocabSize).loss;
}
