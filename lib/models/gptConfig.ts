/**
 * The GPT architecture as data: the config type, the presets (in one table) and the validation every
 * config goes through before a model is built from it, so a bad value fails here with a clear message
 * rather than deep inside a kernel.
 */
import { argError, describe, GlmError } from '../errors';
import { configRecord, transformerFields } from './configChecks';

/** How positions enter the model. */
export type PositionalKind = 'learned' | 'sinusoidal' | 'rope';

/** The positional kinds, in the order error messages list them. */
export const POSITIONAL_KINDS: readonly PositionalKind[] = ['learned', 'sinusoidal', 'rope'];

/** A GPT's architecture (saved as the model part of a run's config.json). */
export interface GPTConfig {
  /** Token ids are in [0, vocabSize); usually set from the tokenizer. */
  vocabSize: number;
  nLayer: number;
  nHead: number;
  /** The residual width C; nEmbd / nHead is the head size (at most 128). */
  nEmbd: number;
  /** The longest sequence (context window). */
  blockSize: number;
  /** Residual-dropout probability in [0, 1) used when a forward pass is in training mode. */
  dropout: number;
  /** Biases in the Linear layers and LayerNorms (GPT-2: true). */
  bias: boolean;
  /** 'learned' (wpe, as GPT-2), 'sinusoidal' (a fixed table) or 'rope' (q and k rotated). */
  positional: PositionalKind;
  /** RoPE's base (theta); used only when positional is 'rope'. Default 10000. */
  ropeBase: number;
}

/** The preset names. */
export type GPTPresetName = 'tiny' | 'small' | 'gpt2';

/**
 * The presets, in one table. `tiny` trains in seconds on a CPU (tests, smoke runs); `small` is
 * nanoGPT's shakespeare-char model (6 layers, 6 heads, 384 wide, block 256, dropout 0.2, no biases);
 * `gpt2` is GPT-2 small (124M: 12/12/768, block 1024, vocab 50257). vocabSize is usually replaced by
 * the tokenizer's (65 is the character set of tiny-shakespeare).
 */
export const GPT_PRESETS: Readonly<Record<GPTPresetName, Readonly<GPTConfig>>> = Object.freeze({
  //       vocabSize          nLayer     nHead      nEmbd       blockSize         dropout       bias         positional                ropeBase
  tiny:  { vocabSize: 65,    nLayer: 2,  nHead: 2,  nEmbd: 64,  blockSize: 64,   dropout: 0,   bias: true,  positional: 'learned', ropeBase: 10000 },
  small: { vocabSize: 65,    nLayer: 6,  nHead: 6,  nEmbd: 384, blockSize: 256,  dropout: 0.2, bias: false, positional: 'learned', ropeBase: 10000 },
  gpt2:  { vocabSize: 50257, nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 1024, dropout: 0,   bias: true,  positional: 'learned', ropeBase: 10000 },
});

const KEYS: readonly (keyof GPTConfig)[] = ['vocabSize', 'nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout', 'bias', 'positional', 'ropeBase'];

/**
 * Checks a complete config and returns a frozen copy. Every field is required (use {@link gptConfig}
 * to start from a preset); unknown fields are errors, so a misspelt key does not pass silently.
 */
export function validateGptConfig(config: unknown, op = 'validateGptConfig'): Readonly<GPTConfig> {
  const c = configRecord(op, config, 'a GPT config object', KEYS);
  const fields = transformerFields(op, c);
  const headDim = fields.nEmbd / fields.nHead;
  const positional = c.positional as PositionalKind;
  if (!POSITIONAL_KINDS.includes(positional))
    throw argError(op, 'config.positional', POSITIONAL_KINDS.map((k) => `'${k}'`).join(', ').replace(/, ([^,]*)$/, ' or $1'), describe(c.positional));
  const ropeBase = c.ropeBase;
  if (typeof ropeBase !== 'number' || !Number.isFinite(ropeBase) || ropeBase <= 1)
    throw argError(op, 'config.ropeBase', 'a finite number > 1', describe(ropeBase));
  if (positional === 'rope' && headDim % 2 !== 0)
    throw argError(op, 'config.nHead', "an even head size nEmbd / nHead for positional 'rope'", `${fields.nHead} (head size ${headDim})`);
  const { vocabSize, nLayer, nHead, nEmbd, blockSize, dropout, bias } = fields;
  return Object.freeze({ vocabSize, nLayer, nHead, nEmbd, blockSize, dropout, bias, positional, ropeBase });
}

/** RoPE's usual base, filled in when a config object leaves ropeBase out. */
export const DEFAULT_ROPE_BASE = 10000;

/**
 * A validated config: a preset by name, or a complete config object (e.g. read back from a run's
 * config.json; ropeBase may be left out), with `overrides` applied on top:
 * `gptConfig('small', { vocabSize: tokenizer.vocabSize })`. An unknown preset is an error listing them.
 */
export function gptConfig(base: GPTPresetName | GPTConfig, overrides: Partial<GPTConfig> = {}): Readonly<GPTConfig> {
  const op = 'gptConfig';
  let start: GPTConfig;
  if (typeof base === 'string') {
    if (!Object.prototype.hasOwnProperty.call(GPT_PRESETS, base))
      throw new GlmError(op, `unknown preset ${describe(base)}: expected one of ${Object.keys(GPT_PRESETS).map((k) => `'${k}'`).join(', ')}`,
        { argument: 'base', expected: Object.keys(GPT_PRESETS).join(', '), actual: describe(base) });
    start = GPT_PRESETS[base];
  } else if (base !== null && typeof base === 'object' && !Array.isArray(base)) {
    start = { ...base, ropeBase: (base as Partial<GPTConfig>).ropeBase ?? DEFAULT_ROPE_BASE };
  } else {
    throw argError(op, 'base', 'a preset name or a GPT config object', describe(base));
  }
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))
    throw argError(op, 'overrides', 'an object of config fields', describe(overrides));
  return validateGptConfig({ ...start, ...overrides }, op);
}
