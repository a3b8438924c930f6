/**
 * Kernel benchmark (CUDA, cuda:0): bf16 GEMM, causal flash attention forward and backward, and fused
 * softmax-cross-entropy forward+backward, each beside PyTorch (benchmarks/gpu_kernels_torch.py, run
 * first in its own process so the two never share the GPU). Every case also gets its floor: FLOPs over
 * the matrix peak (torch's best bf16 GEMM rate at 8192³) or bytes over the copy bandwidth (a large
 * device-to-device clone), whichever is larger. Prints a table and one JSON line; docs/kernels.md says
 * how to read them. Without a CUDA device it prints one "skipped" line and exits 0.
 *
 *   npx tsx benchmarks/gpu-kernels.ts [--quick]
 */
import * as glm from '../lib/index';
import { ops, Tensor, scope } from '../lib/index';
import { fmt, printTable, time, Timing } from '../lib/bench/timing';
import { runPeer } from './peer';

const DEVICE = 'cuda:0';
const quick = process.argv.includes('--quick');

type GpuCase =
  | { kind: 'copy'; n: number }
  | { kind: 'gemm'; M: number; K: number; N: number }
  | { kind: 'attention_fwd' | 'attention_fwd_bwd'; B: number; H: number; T: number; D: number }
  | { kind: 'xent_fwd_bwd'; N: number; V: number; inPlace: boolean };

/** A timing plus, for cross-entropy, the peak device memory the step needed beyond its inputs. */
type Measured = Timing & { peakExtraBytes?: number | null };

const ATTENTION_SHAPES = [
  { B: 4, H: 16, D: 64 },
  { B: 4, H: 8, D: 128 },
];

/** The cases of issue 3. The 8192³ GEMM is the matrix-peak reference; copy is the bandwidth reference. */
const CASES: GpuCase[] = [
  // Cross-entropy first: peakAllocated cannot be reset, so the memory figures are read in a fresh
  // process, smaller expected peak (in place) before the larger one.
  { kind: 'xent_fwd_bwd', N: 8192, V: 50304, inPlace: true },
  { kind: 'xent_fwd_bwd', N: 8192, V: 50304, inPlace: false },
  { kind: 'copy', n: 1 << 29 }, // 1 GiB of bf16, far beyond the 50 MB L2
  { kind: 'gemm', M: 8192, K: 8192, N: 8192 },
  { kind: 'gemm', M: 4096, K: 4096, N: 4096 },
  ...[[768, 2304], [768, 768], [768, 3072], [3072, 768], [768, 50304]].map(([K, N]) => ({ kind: 'gemm' as const, M: 8192, K, N })),
  ...ATTENTION_SHAPES.flatMap((s) => [1024, 4096].flatMap((T) => [
    { kind: 'attention_fwd' as const, ...s, T },
    { kind: 'attention_fwd_bwd' as const, ...s, T },
  ])),
];

function label(c: GpuCase): string {
  switch (c.kind) {
    case 'copy': return `copy bf16 ${(c.n * 2) / 2 ** 30} GiB (d2d)`;
    case 'gemm': return `gemm bf16 ${c.M}x${c.K}x${c.N} (MxKxN)`;
    case 'attention_fwd': return `attn causal fwd B${c.B} H${c.H} T${c.T} D${c.D}`;
    case 'attention_fwd_bwd': return `attn causal bwd B${c.B} H${c.H} T${c.T} D${c.D}`;
    case 'xent_fwd_bwd': return `xent fwd+bwd bf16 ${c.N}x${c.V}${c.inPlace ? ' inPlace' : ''}`;
  }
}

/** FLOPs of a case: FlashAttention's convention (causal halves the work; backward is 2.5x forward). */
function flops(c: GpuCase): number {
  if (c.kind === 'gemm') return 2 * c.M * c.K * c.N;
  if (c.kind === 'attention_fwd' || c.kind === 'attention_fwd_bwd') {
    const fwd = (4 * c.B * c.H * c.T * c.T * c.D) / 2;
    return c.kind === 'attention_fwd' ? fwd : 2.5 * fwd;
  }
  return 0;
}

/** The fewest bytes a case must move through device memory (each input read once, each output written once). */
function bytes(c: GpuCase): number {
  switch (c.kind) {
    case 'copy': return 2 * 2 * c.n;
    case 'gemm': return 2 * (c.M * c.K + c.K * c.N + c.M * c.N);
    // forward: q, k, v read, o written; backward: q, k, v, o, dO read, dq, dk, dv written (log-sum-exp is noise).
    case 'attention_fwd': return 2 * 4 * c.B * c.H * c.T * c.D;
    case 'attention_fwd_bwd': return 2 * 8 * c.B * c.H * c.T * c.D;
    // logits read once, their gradient written once.
    case 'xent_fwd_bwd': return 2 * 2 * c.N * c.V;
  }
}

/** The target (our speed / torch's), if any. */
function target(c: GpuCase): number | null {
  if (c.kind === 'gemm') return c.M === 8192 && c.K === 8192 ? null : 0.8;
  if (c.kind === 'attention_fwd' || c.kind === 'attention_fwd_bwd') return 0.9;
  if (c.kind === 'xent_fwd_bwd') return 2;
  return null;
}

/**
 * Random normal bf16 data, built fast: a pool of 2^20 Box-Muller normals copied in 4096-element
 * chunks from random offsets (hundreds of millions of elements would take seconds one by one). Real
 * random data, never zeros: those can time faster than real data.
 */
let pool: Uint16Array | null = null;

function normalPool(): Uint16Array {
  if (pool) return pool;
  const n = 1 << 20;
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16; // round to nearest even
  return (pool = out);
}

function randnBf16(shape: number[], requiresGrad = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint16Array(n);
  const CHUNK = 4096;
  const POOL = normalPool();
  for (let i = 0; i < n; i += CHUNK) {
    const len = Math.min(CHUNK, n - i);
    const off = Math.floor(Math.random() * (POOL.length - len));
    data.set(POOL.subarray(off, off + len), i);
  }
  return Tensor.from(data, shape, { dtype: 'bf16', device: DEVICE, requiresGrad });
}

/**
 * Times fn on the device: one synchronised run picks how many runs make a sample (about 2 ms, so the
 * host synchronisation is a small part of it), then time()'s median of samples, per run. The twin
 * does the same with CUDA events.
 */
function timeOnDevice(fn: () => void): Timing {
  fn();
  glm.synchronize(DEVICE);
  const t0 = performance.now();
  fn();
  glm.synchronize(DEVICE);
  const one = performance.now() - t0;
  const reps = Math.max(1, Math.min(50, Math.ceil(2 / Math.max(one, 1e-3))));
  // Count-based warm-up and at most 200 samples: the rules of the twin's timed() in gpu_kernels_torch.py.
  const rules = quick ? { warmup: 1, minRuns: 3, minMs: 50 } : { warmup: 2, minRuns: 10, minMs: 500 };
  const t = time(() => { for (let r = 0; r < reps; r++) fn(); }, DEVICE, { ...rules, warmupMs: 0, maxRuns: 200 });
  return { medianMs: t.medianMs / reps, minMs: t.minMs / reps, runs: t.runs * reps };
}

function runCase(c: GpuCase): Measured {
  return scope(() => {
    switch (c.kind) {
      case 'copy': {
        const a = randnBf16([c.n]);
        return timeOnDevice(() => a.clone().dispose());
      }
      case 'gemm': {
        const a = randnBf16([c.M, c.K]), b = randnBf16([c.K, c.N]);
        return timeOnDevice(() => ops.matmul(a, b).dispose());
      }
      case 'attention_fwd': {
        const shape = [c.B, c.H, c.T, c.D];
        const q = randnBf16(shape), k = randnBf16(shape), v = randnBf16(shape);
        return glm.noGrad(() => timeOnDevice(() => ops.attention(q, k, v, { mask: 'causal' }).dispose()));
      }
      case 'attention_fwd_bwd': {
        const shape = [c.B, c.H, c.T, c.D];
        const q = randnBf16(shape, true), k = randnBf16(shape, true), v = randnBf16(shape, true), g = randnBf16(shape);
        return timeOnDevice(() => scope(() => {
          ops.attention(q, k, v, { mask: 'causal' }).backward(g);
          for (const t of [q, k, v]) {
            t.grad!.dispose();
            t.grad = null;
          }
        }));
      }
      case 'xent_fwd_bwd': {
        const logits = randnBf16([c.N, c.V], true);
        const targets = Tensor.from(Int32Array.from({ length: c.N }, () => Math.floor(Math.random() * c.V)), [c.N], { device: DEVICE });
        const step = (): void => scope(() => {
          ops.softmaxCrossEntropy(logits, targets, { inPlace: c.inPlace }).backward();
          logits.grad!.dispose();
          logits.grad = null;
        });
        glm.synchronize(DEVICE);
        const before = glm.memory(DEVICE);
        step();
        glm.synchronize(DEVICE);
        // Valid only if no earlier work in this process peaked higher than what is allocated now.
        const peakExtraBytes = before.peakAllocated <= before.allocated ? glm.memory(DEVICE).peakAllocated - before.allocated : null;
        return { ...timeOnDevice(step), peakExtraBytes };
      }
    }
  });
}

const MB = 2 ** 20;

function main(): void {
  const info = glm.buildInfo();
  if (info.cudaDevices === 0) {
    console.log(`gpu-kernels: skipped: ${info.cuda ? info.cudaUnavailableReason || 'no CUDA device' : 'glm-native was built without CUDA'}`);
    return;
  }
  const peer = runPeer<(GpuCase & Measured & { backend?: string })[]>('gpu_kernels_torch.py', { cases: CASES, quick }, 1, { gpu: true });
  const ours = CASES.map(runCase);
  const theirs = CASES.map((_, i) => (peer.results ? peer.results[i] : null));

  // The two ceilings, measured here. Bandwidth counts bytes read plus written.
  const copyIdx = CASES.findIndex((c) => c.kind === 'copy');
  const peakIdx = CASES.findIndex((c) => c.kind === 'gemm' && c.M === 8192 && c.K === 8192);
  const bwOurs = bytes(CASES[copyIdx]) / (ours[copyIdx].medianMs * 1e-3);
  const bwTorch = theirs[copyIdx] ? bytes(CASES[copyIdx]) / (theirs[copyIdx]!.medianMs * 1e-3) : null;
  const bandwidth = Math.max(bwOurs, bwTorch ?? 0);
  const peakFrom = theirs[peakIdx] ? 'torch' : 'ours (no torch)';
  const peakFlops = flops(CASES[peakIdx]) / ((theirs[peakIdx] ?? ours[peakIdx]).medianMs * 1e-3);

  // Backward alone = (forward+backward) - forward, as FlashAttention reports it.
  const fwdOf = (c: GpuCase): number => CASES.findIndex((d) => d.kind === 'attention_fwd' && c.kind === 'attention_fwd_bwd' &&
    d.B === c.B && d.H === c.H && d.T === c.T && d.D === c.D);
  const ms = (c: GpuCase, i: number, side: (Measured | null)[]): number | null => {
    const m = side[i];
    if (!m) return null;
    if (c.kind !== 'attention_fwd_bwd') return m.medianMs;
    const f = side[fwdOf(c)];
    return f ? m.medianMs - f.medianMs : null;
  };

  const rows: (string | number)[][] = [];
  const results = CASES.map((c, i) => {
    const oursMs = ms(c, i, ours)!;
    const torchMs = ms(c, i, theirs);
    const f = flops(c), b = bytes(c);
    const floorMs = Math.max(f / peakFlops, b / bandwidth) * 1e3;
    const ratio = torchMs !== null ? torchMs / oursMs : null;
    const tgt = target(c);
    const tf = (t: number | null): number | null => (f && t ? f / (t * 1e-3) / 1e12 : null);
    const mem = c.kind === 'xent_fwd_bwd' ? { oursPeakExtraMiB: (ours[i].peakExtraBytes ?? NaN) / MB, torchPeakExtraMiB: (theirs[i]?.peakExtraBytes ?? NaN) / MB } : null;
    rows.push([
      label(c),
      oursMs,
      torchMs ?? '-',
      f ? fmt(tf(oursMs)!) : c.kind === 'copy' ? `${fmt(b / oursMs / 1e9)} TB/s` : '',
      f && torchMs ? fmt(tf(torchMs)!) : c.kind === 'copy' && torchMs ? `${fmt(b / torchMs / 1e9)} TB/s` : '',
      ratio !== null ? `${fmt(ratio)}x` : '-',
      tgt ? `>= ${tgt}x ${ratio !== null ? (ratio >= tgt ? 'ok' : 'MISS') : ''}` : '',
      floorMs,
      `${fmt(oursMs / floorMs)}x`,
      mem ? `${fmt(mem.oursPeakExtraMiB)} / ${fmt(mem.torchPeakExtraMiB)}` : '',
    ]);
    return {
      case: c, label: label(c), oursMs, torchMs, ratio, target: tgt, floorMs, oursOverFloor: oursMs / floorMs,
      oursTflops: tf(oursMs), torchTflops: tf(torchMs), flops: f || null, bytes: b,
      torchBackend: theirs[i]?.backend, ...(mem ?? {}),
    };
  });
  const dev = glm.devices().find((d) => d.name === DEVICE);
  const meta = {
    date: new Date().toISOString(), device: dev?.description, computeCapability: dev?.computeCapability,
    multiprocessors: dev?.multiprocessors, cudaArchitectures: info.cudaArchitectures, quick,
    torch: peer.version || null, peerNote: peer.reason || undefined,
    ceilings: {
      copyTBs: { ours: bwOurs / 1e12, torch: bwTorch !== null ? bwTorch / 1e12 : null, used: bandwidth / 1e12 },
      matrixPeakTflops: peakFlops / 1e12, matrixPeakFrom: peakFrom,
    },
  };
  console.log(`glm-native CUDA kernels vs PyTorch ${peer.version || '(not run: ' + peer.reason + ')'} on ${meta.device} (sm ${meta.computeCapability})`);
  console.log(`ceilings: copy ${fmt(bandwidth / 1e12)} TB/s (read+write; ours ${fmt(bwOurs / 1e12)}, torch ${bwTorch !== null ? fmt(bwTorch / 1e12) : '-'}), ` +
    `matrix peak ${fmt(peakFlops / 1e12)} TFLOP/s (bf16 8192³, ${peakFrom})`);
  printTable(['case', 'ours ms', 'torch ms', 'ours TF/s', 'torch TF/s', 'ours/torch', 'target', 'floor ms', 'ours/floor', 'peak extra MiB ours / torch'], rows);
  console.log(JSON.stringify({ benchmark: 'gpu-kernels', ...meta, results }));
}

main();
