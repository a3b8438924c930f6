/**
 * The checks every model config shares (GPT's and the encoders'): a plain object with only known
 * fields, the transformer's sizes (positive integers, a width that splits into heads of at most
 * MAX_HEAD_DIM), dropout and bias. Each failure names the field.
 */
import { argError, describe } from '../errors';
import { MAX_HEAD_DIM } from '../ops/attention';

/** The sizes and flags every transformer config has. */
export interface TransformerFields {
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  dropout: number;
  bias: boolean;
}

function positiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw argError(op, name, 'a positive integer', describe(v));
  return v;
}

/** `config` as a record, after checking it is an object whose fields are all among `keys`. */
export function configRecord(op: string, config: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw argError(op, 'config', what, describe(config));
  const c = config as Record<string, unknown>;
  for (const k of Object.keys(c))
    if (!keys.includes(k)) throw argError(op, `config.${k}`, `one of the config fields ${keys.join(', ')}`, `unknown field "${k}"`);
  return c;
}

/** The shared fields of `c`, checked. */
export function transformerFields(op: string, c: Record<string, unknown>): TransformerFields {
  const vocabSize = positiveInt(op, 'config.vocabSize', c.vocabSize);
  const nLayer = positiveInt(op, 'config.nLayer', c.nLayer);
  const nHead = positiveInt(op, 'config.nHead', c.nHead);
  const nEmbd = positiveInt(op, 'config.nEmbd', c.nEmbd);
  const blockSize = positiveInt(op, 'config.blockSize', c.blockSize);
  if (nEmbd % nHead !== 0) throw argError(op, 'config.nEmbd', `a multiple of nHead (${nHead})`, `${nEmbd}`);
  if (nEmbd / nHead > MAX_HEAD_DIM)
    throw argError(op, 'config.nHead', `enough heads for a head size nEmbd / nHead <= ${MAX_HEAD_DIM}`, `${nHead} (head size ${nEmbd / nHead})`);
  const dropout = c.dropout;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw argError(op, 'config.dropout', 'a probability in [0, 1)', describe(dropout));
  if (typeof c.bias !== 'boolean') throw argError(op, 'config.bias', 'a boolean', describe(c.bias));
  return { vocabSize, nLayer, nHead, nEmbd, blockSize, dropout, bias: c.bias };
}
