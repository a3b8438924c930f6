/**
 * Learning-rate schedules: functions from the (0-based) step number to a learning rate, to assign
 * to `optimizer.lr` before each step.
 */
import { argError, describe } from '../errors';

/** A learning rate per step (0-based). */
export type Schedule = (step: number) => number;

function nonNegative(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw argError(op, name, 'a finite number >= 0', describe(v));
  return v;
}

function steps(op: string, name: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw argError(op, name, `an integer >= ${min}`, describe(v));
  return v;
}

function stepArg(op: string, step: unknown): number {
  if (typeof step !== 'number' || !Number.isFinite(step) || step < 0) throw argError(op, 'step', 'a finite number >= 0', describe(step));
  return step;
}

/** The same learning rate at every step. */
export function constant(lr: number): Schedule {
  const op = 'constant';
  const v = nonNegative(op, 'lr', lr);
  return (step) => {
    stepArg(op, step);
    return v;
  };
}

/**
 * Linear warmup from maxLr/warmupSteps (step 0) to maxLr (step warmupSteps-1), then maxLr; or, when
 * totalSteps is given, a linear decay from maxLr at step warmupSteps to minLr (default 0) at step
 * totalSteps, and minLr after.
 */
export function linearWarmup(opts: { maxLr: number; warmupSteps: number; totalSteps?: number; minLr?: number }): Schedule {
  const op = 'linearWarmup';
  if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
  const maxLr = nonNegative(op, 'maxLr', opts.maxLr);
  const minLr = nonNegative(op, 'minLr', opts.minLr ?? 0);
  if (minLr > maxLr) throw argError(op, 'minLr', `a number <= maxLr (${maxLr})`, describe(minLr));
  const warmup = steps(op, 'warmupSteps', opts.warmupSteps);
  const total = opts.totalSteps === undefined ? Infinity : steps(op, 'totalSteps', opts.totalSteps, warmup);
  return (step) => {
    const t = stepArg(op, step);
    if (t < warmup) return (maxLr * (t + 1)) / warmup;
    if (total === Infinity) return maxLr;
    if (t >= total) return minLr;
    return maxLr + ((t - warmup) / (total - warmup)) * (minLr - maxLr);
  };
}

/**
 * Linear warmup to maxLr over warmupSteps (maxLr·(step+1)/warmupSteps), then a half-cosine from
 * maxLr at step warmupSteps down to minLr at step totalSteps, and minLr after (as in nanoGPT and
 * llm.c).
 */
export function cosineWithWarmup(opts: { maxLr: number; minLr: number; warmupSteps: number; totalSteps: number }): Schedule {
  const op = 'cosineWithWarmup';
  if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
  const maxLr = nonNegative(op, 'maxLr', opts.maxLr);
  const minLr = nonNegative(op, 'minLr', opts.minLr);
  if (minLr > maxLr) throw argError(op, 'minLr', `a number <= maxLr (${maxLr})`, describe(minLr));
  const warmup = steps(op, 'warmupSteps', opts.warmupSteps);
  const total = steps(op, 'totalSteps', opts.totalSteps, warmup);
  return (step) => {
    const t = stepArg(op, step);
    if (t < warmup) return (maxLr * (t + 1)) / warmup;
    if (t >= total) return minLr;
    const ratio = (t - warmup) / (total - warmup);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (maxLr - minLr);
  };
}
