/**
 * The kernel benchmark cases and how we time each one; shared by `glm bench` and
 * benchmarks/kernels.ts (which adds the PyTorch peer).
 */
import * as ops from '../ops/index';
import { scope } from '../scope';
import { Tensor } from '../tensor';
import { time, Timing } from './timing';

export type KernelCase =
  | { kind: 'gemm'; M: number; K: number; N: number }
  | { kind: 'attention_fwd' | 'attention_fwd_bwd'; B: number; H: number; T: number; D: number }
  | { kind: 'xent_fwd_bwd'; N: number; V: number };

/** The cases of the foundation issue: GEMM squares and transformer shapes, attention, cross-entropy. */
export const KERNEL_CASES: KernelCase[] = [
  ...[256, 512, 1024, 2048].map((n) => ({ kind: 'gemm' as const, M: n, K: n, N: n })),
  { kind: 'gemm', M: 768, K: 128, N: 512 },
  { kind: 'gemm', M: 768, K: 512, N: 128 },
  { kind: 'gemm', M: 768, K: 128, N: 65 },
  { kind: 'gemm', M: 2048, K: 768, N: 3072 },
  { kind: 'attention_fwd', B: 12, H: 4, T: 64, D: 32 },
  { kind: 'attention_fwd', B: 8, H: 12, T: 256, D: 64 },
  { kind: 'attention_fwd_bwd', B: 12, H: 4, T: 64, D: 32 },
  { kind: 'attention_fwd_bwd', B: 8, H: 12, T: 256, D: 64 },
  { kind: 'xent_fwd_bwd', N: 768, V: 65 },
  { kind: 'xent_fwd_bwd', N: 1024, V: 50257 },
];

export function kernelLabel(c: KernelCase): string {
  switch (c.kind) {
    case 'gemm': return `gemm f32 ${c.M}x${c.K}x${c.N} (MxKxN)`;
    case 'attention_fwd': return `attention causal fwd B${c.B} H${c.H} T${c.T} D${c.D}`;
    case 'attention_fwd_bwd': return `attention causal fwd+bwd B${c.B} H${c.H} T${c.T} D${c.D}`;
    case 'xent_fwd_bwd': return `softmax-xent fwd+bwd ${c.N}x${c.V}`;
  }
}

/** Floating-point operations of a case, where the rate is the figure of merit (GEMM). */
export function kernelFlops(c: KernelCase): number | null {
  return c.kind === 'gemm' ? 2 * c.M * c.K * c.N : null;
}

function randn(shape: number[], device: string, requiresGrad = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return Tensor.from(a, shape, { device, requiresGrad });
}

/** Times one case on a device (median of repeated runs after warm-up). */
export function runKernelCase(c: KernelCase, device = 'cpu', opts: { minRuns?: number; minMs?: number } = {}): Timing {
  return scope(() => {
    if (c.kind === 'gemm') {
      const a = randn([c.M, c.K], device);
      const b = randn([c.K, c.N], device);
      return time(() => ops.matmul(a, b).dispose(), device, opts);
    }
    if (c.kind === 'attention_fwd' || c.kind === 'attention_fwd_bwd') {
      const bwd = c.kind === 'attention_fwd_bwd';
      const shape = [c.B, c.H, c.T, c.D];
      const q = randn(shape, device, bwd), k = randn(shape, device, bwd), v = randn(shape, device, bwd);
      const g = randn(shape, device);
      return time(() => scope(() => {
        const out = ops.attention(q, k, v, { mask: 'causal' });
        if (bwd) {
          out.backward(g);
          for (const t of [q, k, v]) {
            t.grad!.dispose();
            t.grad = null;
          }
        }
      }), device, opts);
    }
    const { N, V } = c as Extract<KernelCase, { kind: 'xent_fwd_bwd' }>;
    const logits = randn([N, V], device, true);
    const targets = Tensor.from(Int32Array.from({ length: N }, () => Math.floor(Math.random() * V)), [N], { device });
    return time(() => scope(() => {
      ops.softmaxCrossEntropy(logits, targets).backward();
      logits.grad!.dispose();
      logits.grad = null;
    }), device, opts);
  });
}
