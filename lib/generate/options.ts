/**
 * The options of generation (lib/generate) and their validation: every bad value is an error naming
 * the function, the option, what was expected and what came, raised before any work starts.
 */
import { argError, describe } from '../errors';

/** How the next token is drawn from the logits (the native sampling op's parameters). */
export interface SamplingParams {
  /** Divides the logits; 0 is greedy (argmax). Default 1. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 (the default) keeps all. */
  topK: number;
  /** Nucleus: keep the smallest set of tokens whose probability reaches topP, in (0, 1]; 1 (the default) keeps all. */
  topP: number;
  /** Drop tokens less likely than minP times the most likely one, in [0, 1); 0 (the default) keeps all. */
  minP: number;
  /** Hugging Face's repetition penalty (> 0) on tokens of the prompt and the output: 1 (the default) is none. */
  repetitionPenalty: number;
  /** Subtracted from a token's logit once per earlier occurrence; default 0. */
  frequencyPenalty: number;
  /** Subtracted from the logit of every token that occurred before; default 0. */
  presencePenalty: number;
}

/** Options of generate / generateText / generateBatch. */
export interface GenerateOptions extends Partial<SamplingParams> {
  /** The most tokens to generate per prompt (an integer >= 1; default 256). */
  maxTokens?: number;
  /** Seed of the draws (a non-negative safe integer; default 0): the same seed gives the same text. */
  seed?: number;
  /** Strings that end the generation when the text contains one; the stop string itself is not emitted. */
  stop?: string | readonly string[];
  /** End at the tokenizer's end-of-text token, without emitting it (default true). */
  stopOnEos?: boolean;
  /** Aborting it ends the generation: the iterator (or promise) rejects with the signal's reason. */
  signal?: AbortSignal;
  /** 'bf16': decode with bf16 matmuls, attention and KV cache (CUDA); default f32. */
  autocast?: 'bf16';
  /**
   * Token id -> a number added to that token's logit before the penalties and the filters (OpenAI's
   * `logit_bias`). Ids are integers in [0, the model's vocabSize); values are finite (as f32) or
   * -Infinity, and -Infinity or any value <= -100 bans the token (it is never drawn). One bias serves
   * every step, and in generateBatch every row. Banning every id is an error.
   */
  logitBias?: Record<number, number> | Map<number, number>;
  /**
   * Called with a message when a prompt is longer than the context and is cut from the left to its
   * last blockSize - 1 tokens. Default: process.emitWarning.
   */
  onWarning?: (message: string) => void;
}

/** Options after validation, with defaults filled in. */
export interface ResolvedOptions extends SamplingParams {
  maxTokens: number;
  seed: number;
  stop: string[];
  stopOnEos: boolean;
  signal: AbortSignal | null;
  autocast: 'bf16' | undefined;
  onWarning: (message: string) => void;
  /** The non-zero biases by id (bans as -Infinity), or null when there are none. */
  logitBias: Map<number, number> | null;
}

/** A bias at or below this bans the token (OpenAI's -100). */
export const BAN_BIAS = -100;

const KEYS = ['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'frequencyPenalty', 'presencePenalty',
  'seed', 'stop', 'stopOnEos', 'signal', 'autocast', 'onWarning', 'logitBias'];

/**
 * Checks `opts.logitBias` of function `op` against `vocabSize` ids; returns its non-zero entries,
 * with bans (-Infinity or <= BAN_BIAS) as -Infinity, or null when there are none.
 */
export function resolveLogitBias(op: string, raw: unknown, vocabSize: number): Map<number, number> | null {
  if (raw === undefined) return null;
  const isRecord = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !ArrayBuffer.isView(raw)
    && (Object.getPrototypeOf(raw) === Object.prototype || Object.getPrototypeOf(raw) === null);
  if (!(raw instanceof Map) && !isRecord)
    throw argError(op, 'opts.logitBias', 'an object or a Map of token id -> bias', describe(raw));
  const entries: [unknown, unknown][] = raw instanceof Map ? [...raw.entries()] : Object.entries(raw as Record<string, unknown>);
  const out = new Map<number, number>();
  for (const [key, value] of entries) {
    // Object keys are strings: "12" is id 12, but "1.5", "-1", " 3" or "0x1" are not ids.
    const id = typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key) ? Number(key) : key;
    const name = `opts.logitBias[${typeof key === 'string' ? key : describe(key)}]`;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= vocabSize)
      throw argError(op, name, `a token id: an integer in [0, ${vocabSize})`, `id ${typeof key === 'string' ? JSON.stringify(key) : describe(key)}`);
    if (typeof value !== 'number' || !(value === -Infinity || Number.isFinite(Math.fround(value))))
      throw argError(op, name, 'a finite number (as f32) or -Infinity (-Infinity or <= -100 bans the token)', describe(value));
    const bias = value <= BAN_BIAS ? -Infinity : value;
    if (bias !== 0) out.set(id, bias);
  }
  let banned = 0;
  for (const b of out.values()) if (b === -Infinity) banned++;
  if (banned === vocabSize) throw argError(op, 'opts.logitBias', 'at least one token not banned', `all ${vocabSize} ids banned`);
  return out.size ? out : null;
}

/** Validates `opts` for function `op` (on a model of `vocabSize` ids); returns them with defaults. */
export function resolveOptions(op: string, opts: unknown, vocabSize: number): ResolvedOptions {
  if (opts === undefined) opts = {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw argError(op, 'opts', 'an options object', describe(opts));
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!KEYS.includes(k)) throw argError(op, `opts.${k}`, `one of the options ${KEYS.join(', ')}`, `unknown option "${k}"`);
  const num = (name: string, dflt: number, ok: (x: number) => boolean, expected: string): number => {
    const v = o[name];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw argError(op, `opts.${name}`, expected, describe(v));
    return v;
  };
  const int = (name: string, dflt: number, min: number, expected: string): number =>
    num(name, dflt, (x) => Number.isSafeInteger(x) && x >= min, expected);
  const stopRaw = o.stop;
  let stop: string[] = [];
  if (stopRaw !== undefined) {
    const list = typeof stopRaw === 'string' ? [stopRaw] : stopRaw;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string'))
      throw argError(op, 'opts.stop', 'a string or an array of strings', describe(stopRaw));
    const empty = list.findIndex((s) => s === '');
    if (empty >= 0) throw argError(op, `opts.stop[${empty}]`, 'a non-empty string', 'an empty string');
    stop = [...new Set(list as string[])];
  }
  if (o.stopOnEos !== undefined && typeof o.stopOnEos !== 'boolean') throw argError(op, 'opts.stopOnEos', 'a boolean', describe(o.stopOnEos));
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw argError(op, 'opts.signal', 'an AbortSignal', describe(signal));
  if (o.autocast !== undefined && o.autocast !== 'bf16') throw argError(op, 'opts.autocast', "'bf16' or undefined", describe(o.autocast));
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function') throw argError(op, 'opts.onWarning', 'a function', describe(o.onWarning));
  return {
    maxTokens: int('maxTokens', 256, 1, 'an integer >= 1'),
    temperature: num('temperature', 1, (x) => x >= 0, 'a number >= 0 (0: greedy)'),
    topK: int('topK', 0, 0, 'an integer >= 0 (0: off)'),
    topP: num('topP', 1, (x) => x > 0 && x <= 1, 'a number in (0, 1]'),
    minP: num('minP', 0, (x) => x >= 0 && x < 1, 'a number in [0, 1) (0: off)'),
    repetitionPenalty: num('repetitionPenalty', 1, (x) => x > 0, 'a number > 0 (1: off)'),
    frequencyPenalty: num('frequencyPenalty', 0, () => true, 'a finite number'),
    presencePenalty: num('presencePenalty', 0, () => true, 'a finite number'),
    seed: int('seed', 0, 0, 'a non-negative safe integer'),
    stop,
    stopOnEos: (o.stopOnEos as boolean | undefined) ?? true,
    signal: (signal as AbortSignal | undefined) ?? null,
    autocast: o.autocast as 'bf16' | undefined,
    onWarning: (o.onWarning as ((m: string) => void) | undefined) ?? ((m) => process.emitWarning(m, 'GlmGenerateWarning')),
    logitBias: resolveLogitBias(op, o.logitBias, vocabSize),
  };
}

/** True when any penalty needs the token history. */
export function usesHistory(p: SamplingParams): boolean {
  return p.repetitionPenalty !== 1 || p.frequencyPenalty !== 0 || p.presencePenalty !== 0;
}
