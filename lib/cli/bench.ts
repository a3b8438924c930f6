/** `glm bench`: times the core kernels on one device (the PyTorch comparison lives in benchmarks/). */
import { KERNEL_CASES, kernelFlops, kernelLabel, runKernelCase } from '../bench/kernels';
import { fmt, printTable } from '../bench/timing';
import { normalizeDevice } from '../dtype';
import { argError } from '../errors';

export function benchCommand(opts: { device: string; quick?: boolean; json?: boolean }): void {
  const device = normalizeDevice(opts.device);
  if (!device) throw argError('bench', '--device', '"cpu", "cuda" or "cuda:N"', JSON.stringify(opts.device));
  const results = KERNEL_CASES.map((c) => {
    const t = runKernelCase(c, device, opts.quick ? { minRuns: 3, minMs: 100 } : {});
    const f = kernelFlops(c);
    return { label: kernelLabel(c), medianMs: t.medianMs, gflops: f ? f / t.medianMs / 1e6 : null };
  });
  if (opts.json) {
    console.log(JSON.stringify({ device, results }));
    return;
  }
  printTable(['case', 'median ms', 'GFLOP/s'], results.map((r) => [r.label, r.medianMs, r.gflops ? fmt(r.gflops) : '']));
}
