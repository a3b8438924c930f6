/**
 * Per-op overhead on the CPU stream: what a tiny op costs end to end (JS wrapper, native checks,
 * the hand-off to the stream, the kernel, synchronize) rather than what its kernel costs. Cases:
 * synchronize alone, one tiny op then synchronize (the round trip), 100 tiny ops then one
 * synchronize (the per-op submit cost), tensor creation (empty, and full as backward() seeds a
 * scalar loss), and the 768×65 softmax-cross-entropy forward+backward of the kernel benchmark.
 * Prints a table of medians in microseconds and one JSON line.
 *
 *   npx tsx benchmarks/overhead.ts [--rounds N]
 */
import { numThreads, synchronize } from '../lib/device';
import * as ops from '../lib/ops/index';
import { scope } from '../lib/scope';
import { native } from '../lib/native';
import { Tensor } from '../lib/tensor';
import { printTable } from '../lib/bench/timing';

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg >= 0 ? Number(process.argv[roundsArg + 1]) : 5;

/** Median microseconds per call of fn (which does `per` ops), over `rounds` rounds of ~50 ms each. */
function measure(fn: () => void, per = 1): number {
  for (let i = 0; i < 20; i++) fn();
  synchronize('cpu');
  const medians: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const samples: number[] = [];
    const start = performance.now();
    while (performance.now() - start < 50 || samples.length < 20) {
      const t0 = performance.now();
      fn();
      samples.push((performance.now() - t0) * 1000 / per);
    }
    samples.sort((a, b) => a - b);
    medians.push(samples[samples.length >> 1]);
  }
  medians.sort((a, b) => a - b);
  return medians[medians.length >> 1];
}

function main(): void {
  const small = Tensor.from(new Float32Array(16).fill(1), [16]);
  const out = Tensor.empty([16]);
  const N = 768, V = 65;
  const logits = Tensor.from(Float32Array.from({ length: N * V }, () => Math.random() * 4 - 2), [N, V], { requiresGrad: true });
  const targets = Tensor.from(Int32Array.from({ length: N }, () => Math.floor(Math.random() * V)), [N]);

  const cases: [string, () => void, number][] = [
    ['synchronize (nothing queued)', () => synchronize('cpu'), 1],
    ['Tensor.empty([16]) + dispose', () => Tensor.empty([16]).dispose(), 1],
    ['Tensor.full([], 1) + dispose (the backward seed)', () => Tensor.full([], 1).dispose(), 1],
    ['fill 16 + synchronize', () => { fillOnce(out); synchronize('cpu'); }, 1],
    ['add 16 + dispose + synchronize', () => { ops.add(small, small).dispose(); synchronize('cpu'); }, 1],
    ['100 × (add 16 + dispose), 1 synchronize', () => { for (let i = 0; i < 100; i++) ops.add(small, small).dispose(); synchronize('cpu'); }, 100],
    [`softmax-xent fwd+bwd ${N}x${V} + synchronize`, () => {
      scope(() => {
        ops.softmaxCrossEntropy(logits, targets).backward();
        logits.grad!.dispose();
        logits.grad = null;
      });
      synchronize('cpu');
    }, 1],
  ];
  const rows: (string | number)[][] = [];
  const results: { case: string; us: number }[] = [];
  for (const [name, fn, per] of cases) {
    const us = measure(fn, per);
    rows.push([name, us]);
    results.push({ case: name, us });
  }
  console.log(`per-op overhead, CPU stream, ${numThreads()} threads (median µs per op, ${rounds} rounds)`);
  printTable(['case', 'µs'], rows);
  console.log(JSON.stringify({ benchmark: 'overhead', date: new Date().toISOString(), threads: numThreads(), results }));
}

/** Fills an existing tensor through the native core (Tensor.full would allocate). */
function fillOnce(t: Tensor): void {
  native().fill(t.handle, 1);
}

main();
