/**
 * Token sampling on the logits' device: one token per row of [B, V] logits, after Hugging Face's
 * chain of logit processors (bias, repetition / frequency / presence penalties, temperature, top-k,
 * top-p, min-p), drawn with one Philox uniform per row from (seed, offset, row). Not differentiable.
 * The exact rules, shared by the CPU and CUDA kernels, are in native/cpu/sample.h.
 */
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, finiteArg, intArg, rankArg, sameDevice, tensorArg } from './check';

interface SampleNative {
  sampleTokens(out: NativeTensor, logits: NativeTensor, history: NativeTensor | null, bias: NativeTensor | null,
    temperature: number, topK: number, topP: number, minP: number, repetitionPenalty: number,
    frequencyPenalty: number, presencePenalty: number, seed: number, offset: number): void;
  sampleLogits(out: NativeTensor, logits: NativeTensor, history: NativeTensor | null, bias: NativeTensor | null,
    temperature: number, topK: number, topP: number, minP: number, repetitionPenalty: number,
    frequencyPenalty: number, presencePenalty: number, seed: number, offset: number): void;
}
const nat = () => native<SampleNative>();

const MAX_COUNTER = 2 ** 53 - 1;

/** Options of {@link sampleTokens}. Numbers are used as f32 (as the kernels see them). */
export interface SampleOptions {
  /** Softmax temperature, >= 0 (default 1). 0 is greedy: argmax, ties to the lowest id; filters are then moot. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 (default) is off. */
  topK?: number;
  /** Nucleus: keep the shortest most-likely prefix holding this share of the (top-k) mass; in (0, 1], 1 (default) is off. */
  topP?: number;
  /** Drop tokens whose probability is below minP · pmax; in [0, 1), 0 (default) is off. */
  minP?: number;
  /** HF/CTRL: a seen token's logit x becomes x / r if x > 0, else x · r; > 0, 1 (default) is off. */
  repetitionPenalty?: number;
  /** OpenAI: a seen token's logit loses frequencyPenalty · count; default 0. */
  frequencyPenalty?: number;
  /** OpenAI: a seen token's logit loses presencePenalty once; default 0. */
  presencePenalty?: number;
  /** Previous token ids, i32 [B, L] on the logits' device, -1 for padding; counts are taken per row. */
  history?: Tensor;
  /** Added to the logits first: f32 [V] (every row) or [B, V]; -Infinity bans a token. */
  logitBias?: Tensor;
  /** The key of the random stream: an integer in [0, 2^53). */
  seed: number;
  /** The draw's counter, e.g. the decode step (default 0): an integer in [0, 2^53). Same (seed, offset) gives the same tokens on the same device. */
  offset?: number;
}

interface Checked {
  logits: Tensor;
  history: Tensor | null;
  bias: Tensor | null;
  nums: [number, number, number, number, number, number, number, number, number];
}

function checkArgs(op: string, logits: Tensor, opts: SampleOptions): Checked {
  const tl = tensorArg(op, 'logits', logits);
  dtypeArg(op, 'logits', tl, ['f32', 'bf16']);
  rankArg(op, 'logits', tl, [2]);
  const [B, V] = tl.shape;
  if (V < 1) throw argError(op, 'logits', 'at least one token per row', `shape [${tl.shape.join(', ')}]`);
  if (opts === null || typeof opts !== 'object')
    throw argError(op, 'opts', 'an options object { seed, temperature?, topK?, topP?, minP?, ... }', describe(opts));
  const temperature = opts.temperature ?? 1;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)
    throw argError(op, 'temperature', 'a finite number >= 0', describe(temperature));
  const topK = intArg(op, 'topK', opts.topK ?? 0, 0);
  const topP = opts.topP ?? 1;
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw argError(op, 'topP', 'a number in (0, 1]', describe(topP));
  const minP = opts.minP ?? 0;
  if (typeof minP !== 'number' || !(minP >= 0 && minP < 1)) throw argError(op, 'minP', 'a number in [0, 1)', describe(minP));
  const rep = opts.repetitionPenalty ?? 1;
  if (typeof rep !== 'number' || !Number.isFinite(rep) || !(rep > 0))
    throw argError(op, 'repetitionPenalty', 'a finite number > 0', describe(rep));
  const freq = finiteArg(op, 'frequencyPenalty', opts.frequencyPenalty ?? 0);
  const pres = finiteArg(op, 'presencePenalty', opts.presencePenalty ?? 0);
  const seed = intArg(op, 'seed', opts.seed, 0, MAX_COUNTER);
  const offset = intArg(op, 'offset', opts.offset ?? 0, 0, MAX_COUNTER);
  let history: Tensor | null = null;
  if (opts.history !== undefined) {
    history = tensorArg(op, 'history', opts.history);
    dtypeArg(op, 'history', history, ['i32']);
    rankArg(op, 'history', history, [2]);
    if (history.shape[0] !== B) throw argError(op, 'history', `shape [${B}, L]`, `[${history.shape.join(', ')}]`);
    sameDevice(op, 'history', history, 'logits', tl);
  }
  let bias: Tensor | null = null;
  if (opts.logitBias !== undefined) {
    bias = tensorArg(op, 'logitBias', opts.logitBias);
    dtypeArg(op, 'logitBias', bias, ['f32']);
    const s = bias.shape;
    if (!((s.length === 1 && s[0] === V) || (s.length === 2 && s[0] === B && s[1] === V)))
      throw argError(op, 'logitBias', `shape [${V}] or [${B}, ${V}]`, `[${s.join(', ')}]`);
    sameDevice(op, 'logitBias', bias, 'logits', tl);
  }
  return { logits: tl, history, bias, nums: [temperature, topK, topP, minP, rep, freq, pres, seed, offset] };
}

/**
 * Samples one token per row of `logits` (f32 or bf16 [B, V]) and returns them as i32 [B] on the
 * same device. Order (Hugging Face's): logitBias, penalties over `history`, temperature, then the
 * top-k, top-p and min-p filters, then a draw with the uniform of (seed, offset, row). Numerics are
 * f32 with max-subtraction, sums in double. Throws at once on bad arguments; an id in `history`
 * outside [-1, V) is reported at the next read or synchronize.
 */
export function sampleTokens(logits: Tensor, opts: SampleOptions): Tensor {
  const op = 'sampleTokens';
  const c = checkArgs(op, logits, opts);
  const out = Tensor.empty([c.logits.shape[0]], { dtype: 'i32', device: c.logits.device });
  nat().sampleTokens(out.handle, c.logits.handle, c.history?.handle ?? null, c.bias?.handle ?? null, ...c.nums);
  return out;
}

/**
 * The logits the filters of {@link sampleTokens} see: f32 [B, V] after logitBias and the penalties
 * (before temperature), NaN as -Infinity. For inspection and tests; `seed` is required but unused.
 */
export function sampleLogits(logits: Tensor, opts: SampleOptions): Tensor {
  const op = 'sampleLogits';
  const c = checkArgs(op, logits, opts);
  const out = Tensor.empty(c.logits.shape, { dtype: 'f32', device: c.logits.device });
  nat().sampleLogits(out.handle, c.logits.handle, c.history?.handle ?? null, c.bias?.handle ?? null, ...c.nums);
  return out;
}
