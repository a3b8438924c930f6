/**
 * Kernel benchmark (CPU): fp32 GEMM, causal attention forward and forward+backward, and fused
 * softmax-cross-entropy forward+backward, each beside PyTorch run in the same script on the same
 * machine. Prints a table (ours, torch, our/torch speed ratio, the target) and one JSON line.
 *
 *   npx tsx benchmarks/kernels.ts [--quick]
 */
import * as os from 'node:os';

import { buildInfo, numThreads } from '../lib/index';
import { KERNEL_CASES, KernelCase, kernelFlops, kernelLabel, runKernelCase } from '../lib/bench/kernels';
import { fmt, printTable, Timing } from '../lib/bench/timing';
import { runPeer } from './peer';

const quick = process.argv.includes('--quick');

/** The target ratio (our speed / torch's) for a case, if it has one. */
function target(c: KernelCase): number | null {
  if (c.kind === 'gemm') return c.M === c.K && c.K === c.N && c.M >= 512 ? 0.9 : null;
  if (c.kind === 'attention_fwd_bwd') return 2;
  if (c.kind === 'xent_fwd_bwd') return 4;
  return null;
}

function main(): void {
  const info = buildInfo();
  const peer = runPeer<(KernelCase & Timing)[]>('kernels_torch.py', KERNEL_CASES);
  const rows: (string | number)[][] = [];
  const results = KERNEL_CASES.map((c, i) => {
    const ours = runKernelCase(c, 'cpu', quick ? { minRuns: 3, minMs: 100 } : {});
    const theirs = peer.results ? peer.results[i] : null;
    const ratio = theirs ? theirs.medianMs / ours.medianMs : null;
    const f = kernelFlops(c);
    const tgt = target(c);
    rows.push([
      kernelLabel(c),
      ours.medianMs,
      theirs ? theirs.medianMs : '-',
      f ? fmt(f / ours.medianMs / 1e6) : '',
      f && theirs ? fmt(f / theirs.medianMs / 1e6) : '',
      ratio ? `${fmt(ratio)}x` : '-',
      tgt ? `>= ${tgt}x ${ratio !== null ? (ratio >= tgt ? 'ok' : 'MISS') : ''}` : '',
    ]);
    return {
      case: c, label: kernelLabel(c), oursMs: ours.medianMs, torchMs: theirs?.medianMs ?? null, ratio, target: tgt,
      oursGflops: f ? f / ours.medianMs / 1e6 : null, torchGflops: f && theirs ? f / theirs.medianMs / 1e6 : null,
    };
  });
  const meta = {
    date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, threads: numThreads(),
    cpuLevel: info.cpuLevel, torch: peer.version || null, peerNote: peer.reason || undefined,
  };
  console.log(`glm-native kernels vs PyTorch ${peer.version || '(not run: ' + peer.reason + ')'} on ${meta.cpu}, ${meta.threads} threads, ${meta.cpuLevel}`);
  printTable(['case', 'ours ms', 'torch ms', 'ours GF/s', 'torch GF/s', 'ours/torch', 'target'], rows);
  console.log(JSON.stringify({ benchmark: 'kernels', ...meta, results }));
}

main();
