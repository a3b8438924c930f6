/**
 * Training settings: what one run does besides the model architecture. The defaults for each model
 * preset live in one table (after nanoGPT's shakespeare-char recipe for `small` and GPT-2's for
 * `gpt2`); a user's options override them; `resolveSettings` validates the result, so every other
 * part of training can trust it.
 */
import { argError, describe } from '../errors';

/** Everything a run needs besides the model config. Saved in config.json under "train". */
export interface TrainSettings {
  /** Optimizer steps in total (a resumed run continues up to this). */
  steps: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimizer step (gradient accumulation). */
  gradAccum: number;
  /** Peak learning rate, reached after warmupSteps, then a half cosine down to minLr at `steps`. */
  lr: number;
  minLr: number;
  warmupSteps: number;
  /** Decoupled weight decay of matrices (biases, norms and embeddings never decay). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  gradClip: number;
  /** Steps between evaluations (val loss, a sample, the plot) and checkpoints. */
  evalInterval: number;
  /** Validation batches per evaluation. */
  evalIters: number;
  /** Seeds the initial weights, the batch order and dropout. */
  seed: number;
  /** 'cpu', 'cuda' or 'cuda:N'. */
  device: string;
  /** Matmuls and attention in bf16 over f32 master weights; 'auto' is bf16 on CUDA, none on CPU. */
  autocast: 'bf16' | 'none';
  /** Fraction of the corpus' tokens held out for validation. */
  valFraction: number;
  /** Tokens of text sampled at each evaluation (0: none). */
  sampleTokens: number;
}

/** The settings a resumed run must share with the run it continues for the losses to match. */
export const RESUME_INVARIANT: readonly (keyof TrainSettings)[] = [
  'batchSize', 'gradAccum', 'lr', 'minLr', 'warmupSteps', 'weightDecay', 'beta1', 'beta2', 'gradClip', 'seed', 'autocast',
  'valFraction',
];

const COMMON = { gradAccum: 1, beta1: 0.9, gradClip: 1, evalIters: 20, seed: 1337, device: 'cpu', valFraction: 0.1, sampleTokens: 200 };

/** Training defaults per model preset. */
export const TRAIN_DEFAULTS: Record<string, Omit<TrainSettings, 'autocast'>> = {
  tiny: { ...COMMON, steps: 1500, batchSize: 32, lr: 2e-3, minLr: 2e-4, warmupSteps: 100, weightDecay: 0.1, beta2: 0.99, evalInterval: 250 },
  small: { ...COMMON, steps: 5000, batchSize: 64, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, weightDecay: 0.1, beta2: 0.99, evalInterval: 250, evalIters: 50 },
  gpt2: { ...COMMON, steps: 20000, batchSize: 8, gradAccum: 8, lr: 6e-4, minLr: 6e-5, warmupSteps: 700, weightDecay: 0.1, beta2: 0.95, evalInterval: 500, evalIters: 50 },
};

/** What a user may pass: any subset, plus 'auto' for autocast. */
export type TrainSettingsInput = Partial<Omit<TrainSettings, 'autocast'>> & { autocast?: 'bf16' | 'none' | 'auto' };

const op = 'train';

function int(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw argError(op, name, `an integer >= ${min}`, describe(v));
  return v;
}

function num(name: string, v: unknown, min: number, max = Infinity, maxOpen = false): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= min && (maxOpen ? v < max : v <= max);
  if (!ok) throw argError(op, name, `a finite number in [${min}, ${max === Infinity ? '∞' : max}${maxOpen ? ')' : ']'}`, describe(v));
  return v as number;
}

/** Fills the preset's defaults into `input` and validates every field. */
export function resolveSettings(preset: string, input: TrainSettingsInput = {}): TrainSettings {
  const base = TRAIN_DEFAULTS[preset] ?? TRAIN_DEFAULTS.tiny;
  const known = new Set([...Object.keys(base), 'autocast']);
  for (const k of Object.keys(input)) if (!known.has(k)) throw argError(op, k, `one of the settings ${[...known].join(', ')}`, `unknown setting '${k}'`);
  const s = { ...base, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as Omit<TrainSettings, 'autocast'> & { autocast?: string };
  if (typeof s.device !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(s.device)) throw argError(op, 'device', "'cpu', 'cuda' or 'cuda:N'", describe(s.device));
  const autocast: string = s.autocast ?? 'auto';
  if (autocast !== 'auto' && autocast !== 'bf16' && autocast !== 'none') throw argError(op, 'autocast', "'auto', 'bf16' or 'none'", describe(autocast));
  const out: TrainSettings = {
    steps: int('steps', s.steps, 1),
    batchSize: int('batchSize', s.batchSize, 1),
    gradAccum: int('gradAccum', s.gradAccum, 1),
    lr: num('lr', s.lr, 0),
    minLr: num('minLr', s.minLr, 0),
    warmupSteps: int('warmupSteps', s.warmupSteps, 0),
    weightDecay: num('weightDecay', s.weightDecay, 0),
    beta1: num('beta1', s.beta1, 0, 1, true),
    beta2: num('beta2', s.beta2, 0, 1, true),
    gradClip: num('gradClip', s.gradClip, 0),
    evalInterval: int('evalInterval', s.evalInterval, 1),
    evalIters: int('evalIters', s.evalIters, 1),
    seed: int('seed', s.seed, 0),
    device: s.device === 'cuda' ? 'cuda:0' : s.device,
    autocast: autocast === 'auto' ? (s.device.startsWith('cuda') ? 'bf16' : 'none') : autocast,
    valFraction: num('valFraction', s.valFraction, 0, 0.5, true),
    sampleTokens: int('sampleTokens', s.sampleTokens, 0),
  };
  // The preset's warmup is for its own step count; a shorter run given by the user warms up for a tenth of it.
  if (input.warmupSteps === undefined) out.warmupSteps = Math.min(out.warmupSteps, Math.ceil(out.steps / 10));
  if (out.warmupSteps > out.steps) throw argError(op, 'warmupSteps', `an integer <= steps (${out.steps})`, describe(out.warmupSteps));
  if (out.minLr > out.lr) throw argError(op, 'minLr', `a number <= lr (${out.lr})`, describe(out.minLr));
  if (out.seed > 0xffffffff) throw argError(op, 'seed', 'an integer in [0, 2^32)', describe(out.seed));
  if (out.valFraction === 0) throw argError(op, 'valFraction', 'a number in (0, 0.5)', '0 (validation needs held-out tokens)');
  return out;
}
