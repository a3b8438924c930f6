/**
 * The training loop of `glm train`: micro-batch losses from the objective (causal LM, MLM + NSP or
 * GLM blank infilling: see objectives/), backward with gradient
 * accumulation, global-norm clipping, the warmup + cosine schedule and fused AdamW; periodic
 * evaluation (val loss, perplexity, a text sample, the loss plot) and checkpoints; exact resume;
 * a clean stop on an AbortSignal (the CLI wires SIGINT/SIGTERM to it).
 *
 * Reproducibility: everything random is derived from the seed and the step (the batch sampler's
 * state is checkpointed; dropout seeds are a hash of seed, step and micro-batch), so a run stopped and
 * resumed computes the same losses as one that never stopped.
 */
import type { Tensor } from '../tensor';
import { scale } from '../ops/elementwise';
import { AdamW } from '../optim/adamw';
import { clipGradNorm } from '../optim/clip';
import { cosineWithWarmup } from '../optim/schedule';
import { fmix32 } from '../random';
import { scope } from '../scope';
import type { TrainObjective } from './objectives/types';
import { TrainSettings } from './settings';

export { evaluateLoss } from './objectives/causal';

/** What the loop reports as it goes; the CLI draws a progress bar and log lines from these. */
export type TrainEvent =
  | { type: 'step'; step: number; steps: number; loss: number; parts: Record<string, number>; lr: number; gradNorm: number; tokensPerSec: number; elapsedMs: number }
  | { type: 'eval'; step: number; valLoss: number; parts: Record<string, number>; perplexity: number; trainLoss: number | null; sample: string }
  | { type: 'checkpoint'; step: number };

/** The pieces of a prepared run that the loop drives (see run.ts). */
export interface LoopContext {
  /** The model's loss on its data (causal LM, MLM + NSP, GLM blank infilling). */
  objective: TrainObjective;
  optimizer: AdamW;
  settings: TrainSettings;
  /** A text sample of the model as it is now, for the eval line (seeded). */
  sampleText: (seed: number) => Promise<string>;
  /** Writes a checkpoint for `step` (after the step's update). */
  checkpoint: (step: number, lastValLoss: number | null, tokensSeen: number, elapsedMs: number) => void;
  /** Appends a metrics record. */
  log: (record: Record<string, unknown>) => void;
}

/** Where the loop starts: step 0 for a new run, the checkpoint's step for a resume. */
export interface LoopStart {
  step: number;
  tokensSeen: number;
  elapsedMs: number;
  lastValLoss: number | null;
}

export interface LoopResult {
  step: number;
  stoppedBy: 'done' | 'signal';
  lastValLoss: number | null;
  tokensSeen: number;
}

/** The dropout seed of one micro-batch: a hash of (seed, step, micro) so a resume redraws the same masks. */
export function dropoutSeed(seed: number, step: number, micro: number): number {
  return fmix32(fmix32(fmix32(seed) ^ step) ^ micro);
}

/** The entries of `parts` with `prefix` on their names (val_mlm, ...). */
function prefixed(prefix: string, parts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [prefix + k, v]));
}

/**
 * Runs optimizer steps from `start.step + 1` to `settings.steps`, evaluating and checkpointing every
 * `evalInterval` steps and at the end. When `signal` aborts, the current step finishes, a checkpoint
 * is written and the loop returns with stoppedBy 'signal'.
 */
export async function runLoop(ctx: LoopContext, start: LoopStart, onEvent: (e: TrainEvent) => void, signal?: AbortSignal): Promise<LoopResult> {
  const { objective, optimizer, settings: s } = ctx;
  const schedule = cosineWithWarmup({ maxLr: s.lr, minLr: s.minLr, warmupSteps: s.warmupSteps, totalSteps: s.steps });
  const params = optimizer.params;
  const tokensPerStep = objective.tokensPerMicroBatch * s.gradAccum;
  let { tokensSeen, elapsedMs, lastValLoss } = start;
  let step = start.step;
  let lastTrainLoss: number | null = null;
  let windowStart = performance.now();
  let windowTokens = 0;
  const evaluate = async (): Promise<void> => {
    const t0 = performance.now();
    const result = await objective.evaluate(s.evalIters);
    const valLoss = result.loss, parts = result.parts;
    let sample = '';
    if (s.sampleTokens > 0) sample = await ctx.sampleText(s.seed + step);
    lastValLoss = valLoss;
    const perplexity = Math.exp(result.lmLoss);
    ctx.log({ type: 'eval', step, valLoss, ...prefixed('val_', parts), perplexity, sample });
    onEvent({ type: 'eval', step, valLoss, parts, perplexity, trainLoss: lastTrainLoss, sample });
    windowStart += performance.now() - t0;  // evaluation time does not count against tokens/s
  };
  const save = (): void => {
    ctx.checkpoint(step, lastValLoss, tokensSeen, elapsedMs);
    onEvent({ type: 'checkpoint', step });
  };

  if (step === 0) await evaluate();
  while (step < s.steps) {
    const t0 = performance.now();
    const lr = schedule(step);
    optimizer.lr = lr;
    const { loss, gradNorm, parts } = await scope(async () => {
      const microLosses: Tensor[] = [];
      const microParts: Record<string, Tensor>[] = [];
      for (let micro = 0; micro < s.gradAccum; micro++) {
        const { loss: l, parts: p } = objective.trainLoss(step, micro, dropoutSeed(s.seed, step, micro));
        (s.gradAccum === 1 ? l : scale(l, 1 / s.gradAccum)).backward();
        microLosses.push(l.detach());
        microParts.push(Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.detach()])));
      }
      let norm: Tensor | null = null;
      if (s.gradClip > 0) {
        const clip = clipGradNorm(params, s.gradClip);
        norm = clip.norm;
        optimizer.step({ gradScale: clip.coef });
      } else {
        optimizer.step();
      }
      optimizer.zeroGrad();
      let sum = 0;
      for (const v of microLosses) sum += await v.item();
      const means: Record<string, number> = {};
      for (const p of microParts) for (const [k, t] of Object.entries(p)) means[k] = (means[k] ?? 0) + (await t.item()) / s.gradAccum;
      return { loss: sum / s.gradAccum, gradNorm: norm ? await norm.item() : NaN, parts: means };
    });
    step++;
    tokensSeen += tokensPerStep;
    windowTokens += tokensPerStep;
    const now = performance.now();
    elapsedMs += now - t0;
    const tokensPerSec = (windowTokens / Math.max(now - windowStart, 1e-3)) * 1000;
    if (now - windowStart > 10_000) {
      windowStart = now;
      windowTokens = 0;
    }
    lastTrainLoss = loss;
    ctx.log({ type: 'train', step, loss, ...parts, lr, gradNorm, tokensPerSec: Math.round(tokensPerSec), elapsedMs: Math.round(elapsedMs) });
    onEvent({ type: 'step', step, steps: s.steps, loss, parts, lr, gradNorm, tokensPerSec, elapsedMs });
    if (!Number.isFinite(loss)) throw new Error(`train: the loss became ${loss} at step ${step} (try a lower --lr); the last checkpoint is intact`);
    const aborted = signal?.aborted ?? false;
    if (step % s.evalInterval === 0 || step === s.steps) await evaluate();
    if (step % s.evalInterval === 0 || step === s.steps || aborted) save();
    if (aborted) return { step, stoppedBy: 'signal', lastValLoss, tokensSeen };
  }
  return { step, stoppedBy: 'done', lastValLoss, tokensSeen };
}
