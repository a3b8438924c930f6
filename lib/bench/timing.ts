/** Timing helpers for benchmarks: warm up, then the median of repeated runs. */
import { synchronize } from '../device';

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

/**
 * Runs fn (which submits work to `device`) `warmup` times and for at least `warmupMs`, then until
 * `minRuns` runs and `minMs` total have passed (at most `maxRuns`). The time-based warm-up matters for
 * microsecond cases: two calls leave the JS wrappers unoptimised, which a training loop never sees.
 * benchmarks/kernels_torch.py times its side with the same rules.
 */
export function time(
  fn: () => void,
  device = 'cpu',
  opts: { warmup?: number; warmupMs?: number; minRuns?: number; minMs?: number; maxRuns?: number } = {},
): Timing {
  const { warmup = 2, warmupMs = 200, minRuns = 5, minMs = 400, maxRuns = 2000 } = opts;
  const warmStart = performance.now();
  for (let i = 0; i < warmup || performance.now() - warmStart < warmupMs; i++) {
    fn();
    synchronize(device);
  }
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || (performance.now() - start < minMs && samples.length < maxRuns)) {
    const t0 = performance.now();
    fn();
    synchronize(device);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[samples.length >> 1], minMs: samples[0], runs: samples.length };
}

/** Prints rows as an aligned text table. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  for (const [k, r] of cells.entries()) {
    console.log(r.map((c, i) => String(c).padStart(widths[i])).join('  '));
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
