/**
 * Batches of training windows: each row is blockSize + 1 consecutive tokens drawn uniformly at random
 * from the allowed ranges (a split's train or val ranges), given as inputs x = w[0..T) and targets
 * y = w[1..T+1). Windows are drawn with replacement (nanoGPT's sampler): every window start in the
 * ranges is equally likely and a window never crosses a range boundary.
 *
 * The stream is a function of the seed alone, and `getState()`/`setState()` resume it exactly, so a
 * resumed run sees the batches the uninterrupted one would have. `evalBatches(n)` is a fixed sequence
 * of evenly spaced windows that does not touch the random stream, so validation losses of different
 * checkpoints are measured on the same tokens.
 */
import { argError, describe, GlmError } from '../errors';
import { Random } from '../random';
import type { TokenRange } from './split';

/** Token ids as a shard holds them. */
export type TokenArray = Uint16Array | Uint32Array | Int32Array;

/** One batch, row-major: row b is x[b*T .. (b+1)*T). */
export interface Batch {
  /** Inputs, B*T ids. */
  readonly x: Int32Array;
  /** Targets, B*T ids: y[b*T + t] = the token after x[b*T + t]. */
  readonly y: Int32Array;
  readonly batchSize: number;
  readonly blockSize: number;
}

/** Options of `BatchSampler`. */
export interface BatchSamplerOptions {
  readonly tokens: TokenArray;
  /** Where windows may lie (default: all of tokens). */
  readonly ranges?: readonly TokenRange[];
  /** B: rows per batch. */
  readonly batchSize: number;
  /** T: tokens per row; each window holds T + 1. */
  readonly blockSize: number;
  /** Seed of the window stream (default 0). */
  readonly seed?: number;
  /** What the ranges are ("train", "val"), for error messages. */
  readonly name?: string;
}

/** A sampler's resumable state (JSON-serialisable). */
export interface BatchSamplerState {
  readonly rng: number[];
  /** Batches drawn so far. */
  readonly batches: number;
}

const OP = 'BatchSampler';

/** Draws random [B, T+1] windows from token ranges (see the file comment). */
export class BatchSampler {
  readonly batchSize: number;
  readonly blockSize: number;
  /** Number of distinct window starts. */
  readonly windowCount: number;
  private readonly tokens: TokenArray;
  private readonly ranges: TokenRange[];
  /** cumulative[i] = window starts in ranges[0..i). */
  private readonly cumulative: Float64Array;
  private rng: Random;
  private batches = 0;

  /**
   * Throws a GlmError when an argument is invalid, or when the ranges hold no window of
   * blockSize + 1 tokens (the message gives how many tokens they have and how many are needed).
   */
  constructor(options: BatchSamplerOptions) {
    const { tokens, batchSize, blockSize } = options;
    if (!(tokens instanceof Uint16Array || tokens instanceof Uint32Array || tokens instanceof Int32Array))
      throw argError(OP, 'tokens', 'a Uint16Array, Uint32Array or Int32Array of ids', describe(tokens));
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw argError(OP, 'batchSize', 'a positive integer', describe(batchSize));
    if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw argError(OP, 'blockSize', 'a positive integer', describe(blockSize));
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw argError(OP, 'seed', 'a non-negative safe integer', describe(seed));
    const ranges = options.ranges ?? [{ start: 0, end: tokens.length }];
    if (!Array.isArray(ranges)) throw argError(OP, 'ranges', 'an array of {start, end}', describe(ranges));
    ranges.forEach((r, i) => {
      const ok = r && Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.start <= r.end && r.end <= tokens.length;
      if (!ok) throw argError(OP, `ranges[${i}]`, `{start, end} with 0 <= start <= end <= ${tokens.length} (the token count)`, r ? `{start: ${describe(r.start)}, end: ${describe(r.end)}}` : describe(r));
    });

    this.tokens = tokens;
    this.batchSize = batchSize;
    this.blockSize = blockSize;
    this.ranges = ranges.map((r) => ({ start: r.start, end: r.end }));
    this.cumulative = new Float64Array(ranges.length + 1);
    for (let i = 0; i < ranges.length; i++) this.cumulative[i + 1] = this.cumulative[i] + Math.max(0, ranges[i].end - ranges[i].start - blockSize);
    this.windowCount = this.cumulative[ranges.length];
    if (this.windowCount === 0) {
      const name = options.name ?? 'token';
      const total = ranges.reduce((n, r) => n + r.end - r.start, 0);
      const longest = ranges.reduce((n, r) => Math.max(n, r.end - r.start), 0);
      const pieces = ranges.length > 1 ? ` (its longest contiguous range has ${longest}; windows do not cross ranges)` : '';
      throw new GlmError(
        OP,
        `the ${name} data is shorter than one block: it has ${total} tokens${pieces}, a window needs blockSize + 1 = ${blockSize + 1}; ` +
          'use more text or a smaller blockSize',
        { argument: 'blockSize', expected: `a window of at most ${longest} tokens`, actual: `${blockSize + 1} (blockSize ${blockSize})` },
      );
    }
    this.rng = new Random(seed);
  }

  /** The next random batch. */
  next(): Batch {
    const B = this.batchSize;
    const T = this.blockSize;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) this.copyWindow(this.windowStart(this.rng.int(this.windowCount)), x, y, b * T);
    this.batches++;
    return { x, y, batchSize: B, blockSize: T };
  }

  /**
   * n batches of evenly spaced windows covering the ranges, the same on every call (independent of
   * the random stream). When n·B exceeds the number of windows, windows repeat.
   */
  evalBatches(n: number): Batch[] {
    if (!Number.isSafeInteger(n) || n < 0) throw argError('BatchSampler.evalBatches', 'n', 'a non-negative integer', describe(n));
    const B = this.batchSize;
    const T = this.blockSize;
    const rows = n * B;
    const out: Batch[] = [];
    for (let i = 0; i < n; i++) {
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const w = Math.floor(((i * B + b + 0.5) * this.windowCount) / rows);
        this.copyWindow(this.windowStart(w), x, y, b * T);
      }
      out.push({ x, y, batchSize: B, blockSize: T });
    }
    return out;
  }

  /** The state to resume from: `setState(getState())` continues the exact same batches. */
  getState(): BatchSamplerState {
    return { rng: this.rng.getState(), batches: this.batches };
  }

  /** Restores a state from `getState()` (of a sampler over the same tokens and sizes). */
  setState(state: BatchSamplerState): void {
    if (!state || !Number.isSafeInteger(state.batches) || state.batches < 0)
      throw argError('BatchSampler.setState', 'state', 'an object from getState(): {rng, batches}', describe(state));
    const rng = new Random(0);
    rng.setState(state.rng);
    this.rng = rng;
    this.batches = state.batches;
  }

  /** Batches drawn by `next()` so far. */
  get batchesDrawn(): number {
    return this.batches;
  }

  /** Token index of window w (0 <= w < windowCount). */
  private windowStart(w: number): number {
    const c = this.cumulative;
    let lo = 0;
    let hi = this.ranges.length - 1;
    // The range i with c[i] <= w < c[i+1].
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (c[mid] <= w) lo = mid;
      else hi = mid - 1;
    }
    return this.ranges[lo].start + (w - c[lo]);
  }

  private copyWindow(start: number, x: Int32Array, y: Int32Array, at: number): void {
    const T = this.blockSize;
    x.set(this.tokens.subarray(start, start + T), at);
    y.set(this.tokens.subarray(start + 1, start + T + 1), at);
  }
}
