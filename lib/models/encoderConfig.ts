/**
 * The bidirectional models as data: the config of an Encoder (BERT-style, pretrained with masked-LM
 * and next-sentence prediction, or GLM, pretrained with autoregressive blank infilling), its presets
 * in one table and the validation every config goes through before a model is built.
 */
import { argError, describe, GlmError } from '../errors';
import { configRecord, transformerFields } from './configChecks';

/**
 * 'bert': segment embeddings, attention over every real token (mask 'none' with key padding), an
 * NSP head on [CLS]. 'glm': 2D positions (position in Part A, position inside a span) and the
 * prefix mask (Part A bidirectional, Part B causal).
 */
export type EncoderArch = 'bert' | 'glm';

/** The architectures, in the order error messages list them. */
export const ENCODER_ARCHS: readonly EncoderArch[] = ['bert', 'glm'];

/** An Encoder's architecture (saved as the model part of a run's config.json). */
export interface EncoderConfig {
  arch: EncoderArch;
  /** Token ids are in [0, vocabSize); set from the tokenizer. */
  vocabSize: number;
  nLayer: number;
  nHead: number;
  /** The residual width C; nEmbd / nHead is the head size (at most 128). */
  nEmbd: number;
  /** The longest input (for GLM: Part A and Part B together). */
  blockSize: number;
  /** Residual-dropout probability in [0, 1) in training passes. */
  dropout: number;
  /** Biases in the Linear layers and LayerNorms. */
  bias: boolean;
}

/** The preset names. */
export type EncoderPresetName = 'tiny' | 'small';

/**
 * `tiny` trains in seconds (tests, smoke runs); `small` is a 4-layer, 256-wide encoder with a
 * 256-token context that pretrains in minutes on two cores. vocabSize is replaced by the tokenizer's.
 */
export const ENCODER_PRESETS: Readonly<Record<EncoderPresetName, Readonly<Omit<EncoderConfig, 'arch'>>>> = Object.freeze({
  //       vocabSize          nLayer     nHead      nEmbd       blockSize        dropout        bias
  tiny:  { vocabSize: 65,    nLayer: 2,  nHead: 2,  nEmbd: 64,  blockSize: 128, dropout: 0,    bias: true },
  small: { vocabSize: 65,    nLayer: 4,  nHead: 4,  nEmbd: 256, blockSize: 256, dropout: 0.1,  bias: true },
});

const KEYS: readonly (keyof EncoderConfig)[] = ['arch', 'vocabSize', 'nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout', 'bias'];

/** Checks a complete config (every field, no unknown ones) and returns a frozen copy. */
export function validateEncoderConfig(config: unknown, op = 'validateEncoderConfig'): Readonly<EncoderConfig> {
  const c = configRecord(op, config, 'an Encoder config object', KEYS);
  const arch = c.arch as EncoderArch;
  if (!ENCODER_ARCHS.includes(arch)) throw argError(op, 'config.arch', "'bert' or 'glm'", describe(c.arch));
  const fields = transformerFields(op, c);
  // [CLS] a [SEP] b [SEP] needs 5 tokens, less one for a single-token pair; GLM one of A and a span of B.
  if (fields.blockSize < 4) throw argError(op, 'config.blockSize', 'at least 4 ([CLS] a [SEP] b, or a GLM span)', `${fields.blockSize}`);
  return Object.freeze({ arch, ...fields });
}

/** A validated config from a preset (or a complete config) with overrides: `encoderConfig('small', { arch: 'glm', vocabSize })`. */
export function encoderConfig(base: EncoderPresetName | EncoderConfig, overrides: Partial<EncoderConfig> = {}): Readonly<EncoderConfig> {
  const op = 'encoderConfig';
  let start: Partial<EncoderConfig>;
  if (typeof base === 'string') {
    if (!Object.prototype.hasOwnProperty.call(ENCODER_PRESETS, base))
      throw new GlmError(op, `unknown preset ${describe(base)}: expected one of ${Object.keys(ENCODER_PRESETS).map((k) => `'${k}'`).join(', ')}`,
        { argument: 'base', expected: Object.keys(ENCODER_PRESETS).join(', '), actual: describe(base) });
    start = { arch: 'bert', ...ENCODER_PRESETS[base] };
  } else if (base !== null && typeof base === 'object' && !Array.isArray(base)) {
    start = base;
  } else {
    throw argError(op, 'base', 'a preset name or an Encoder config object', describe(base));
  }
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))
    throw argError(op, 'overrides', 'an object of config fields', describe(overrides));
  return validateEncoderConfig({ ...start, ...overrides }, op);
}
