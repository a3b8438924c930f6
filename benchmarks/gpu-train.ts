/**
 * GPU training benchmark (issue 7): GPT-2 124M trained with bf16 autocast over f32 master weights, fused
 * AdamW and gradient accumulation, here and in PyTorch (benchmarks/gpu_train_torch.py: eager with
 * F.scaled_dot_product_attention, fused AdamW, and with --compile also torch.compile) from the same
 * initial weights on the same batches (the default corpus in GPT-2's BPE, vocabulary padded to 50304 as
 * llm.c does). The twins run first, each in its own process, so the GPU is free for each side in turn.
 * Reports the median step time after warm-up, tokens/s, MFU, the memory high-water mark, both sides'
 * per-step losses and their largest gap, and with --max-batch the largest micro-batch that fits.
 *
 *   npx tsx benchmarks/gpu-train.ts [--device cuda|cuda:N|cpu] [--preset gpt2|small|tiny] [--batch B]
 *     [--block T] [--steps N] [--grad-accum K] [--autocast bf16|none] [--vocab-pad V] [--max-batch]
 *     [--max-batch-limit B] [--compile] [--loss-curve] [--peak-tflops P] [--json]
 *
 * Defaults: cuda, gpt2, B 16, T = the preset's block (1024), 30 steps (200 with --loss-curve), K 1,
 * bf16 on CUDA and none on the CPU, V 50304 (0: the tokenizer's 50257). Without a CUDA device a cuda run
 * prints one "skipped" line and exits 0.
 *
 * The vocabulary: GPTConfig has no separate padded size, so the model is built with vocabSize 50304;
 * targets are GPT-2's ids (< 50257) and the 47 extra rows are never a target. Unlike llm.c, whose
 * softmax stops at 50257, our and the twin's softmax run over all 50304 columns (the same on both sides).
 *
 * MFU is llm.c's (gpt2_estimate_mfu): FLOPs per token = 6·N + 6·L·C·T, N every parameter (the padded
 * wte included, tied to the head), L layers, C width, T sequence length; the second term is causal
 * attention's two matmuls, forward and backward. nanoGPT's/PaLM's 6·N + 12·L·C·T (attention unmasked)
 * is in the JSON as mfuPalm. Peak (dense bf16): 989 TFLOP/s for H100 SXM and H200, 756 for H100 PCIe,
 * 312 for A100, else --peak-tflops; none on the CPU.
 *
 * The short real run of the issue: --loss-curve (200 steps, lr 6e-4 after 20 warm-up steps, cosine to
 * 6e-5, weight decay 0.1, betas 0.9/0.95, clip 1; dropout off, as its masks could not match) prints both
 * curves every 10 steps, the largest per-step gap and the largest gap of 10-step means (bf16 rounding
 * makes the two runs drift apart a little; the means show whether the curves part).
 *
 * CPU check at small size (about 15 s on 2 cores):
 *   npx tsx benchmarks/gpu-train.ts --device cpu --preset tiny --batch 4 --block 64 --steps 5 --grad-accum 2 --max-batch --max-batch-limit 16
 * GPU session (benchmarks/gpu-run.sh stages train and curve):
 *   node --import tsx benchmarks/gpu-train.ts --max-batch --compile      (B=16, T=1024, then the largest B)
 *   node --import tsx benchmarks/gpu-train.ts --loss-curve               (200 steps, both curves)
 */
import * as os from 'os';
import * as fs from 'fs';

import { BatchSampler, splitTokens } from '../lib/data';
import { buildInfo, cudaAvailable, devices, emptyCache, memory } from '../lib/device';
import { GPT, gptConfig, GPT_PRESETS, GPTPresetName } from '../lib/models/gpt';
import { AdamW } from '../lib/optim/adamw';
import { cosineWithWarmup } from '../lib/optim/schedule';
import { fmt, printTable } from '../lib/bench/timing';
import { arg, flag, numArg } from './args';
import { runPeer } from './peer';
import { corpusTokens, median, trainStep, writeTrainJob } from './trainBench';

const device = arg('device', 'cuda');
const onCpu = device === 'cpu';
const preset = arg('preset', 'gpt2') as GPTPresetName;
const lossCurve = flag('loss-curve');
const batchSize = numArg('batch', 16);
const T = numArg('block', GPT_PRESETS[preset]?.blockSize ?? 1024);
const steps = numArg('steps', lossCurve ? 200 : 30);
const gradAccum = numArg('grad-accum', 1);
const autocastArg = arg('autocast', onCpu ? 'none' : 'bf16');
const vocabPad = numArg('vocab-pad', 50304);
const maxBatch = flag('max-batch');
const maxBatchLimit = numArg('max-batch-limit', 512);
const compile = flag('compile');
const jsonOnly = flag('json');
/** Steps left out of the timing (first-touch allocations, autotuning, JIT). */
const warmupSteps = Math.min(5, Math.floor(steps / 2));
/** Steps timed at each size of the --max-batch search (the first two left out). */
const maxBatchSteps = 5;
const settings = { batchSize, lr: 6e-4, minLr: 6e-5, warmupSteps: Math.max(1, Math.round(steps / 10)), weightDecay: 0.1, beta1: 0.9, beta2: 0.95, gradClip: 1 };
const MiB = 2 ** 20;

interface TorchTrain {
  device: string;
  attention: string;
  optimizer: string;
  compile: boolean;
  compileError: string;
  losses?: number[];
  stepMs?: number;
  tokensPerSec?: number;
  peakAllocatedBytes?: number | null;
  peakReservedBytes?: number | null;
  maxBatch?: MaxBatch | null;
}

interface MaxBatch {
  best: { batch: number; stepMs: number; tokensPerSec: number } | null;
  failedAt: number | null;
  error: string;
  limit: number;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`gpu-train: ${what}`);
}

/** Dense bf16 tensor-core peak of a GPU by name, in FLOP/s (--peak-tflops overrides); null when unknown. */
function peakFlops(name: string): number | null {
  if (arg('peak-tflops', '')) return numArg('peak-tflops', 0) * 1e12;
  if (onCpu) return null;
  if (/H100.*PCIe/i.test(name)) return 756e12;
  if (/H100|H200|GH200/i.test(name)) return 989e12;
  if (/A100/i.test(name)) return 312e12;
  return null;
}

/** The largest micro-batch 2·B, 4·B, ... <= limit whose step fits on the device (ours; the twin has its own). */
async function searchMaxBatch(model: GPT, optimizer: AdamW, tokens: Uint16Array | Uint32Array, autocast: 'bf16' | undefined): Promise<MaxBatch> {
  let best: MaxBatch['best'] = null;
  for (let B = 2 * batchSize; B <= maxBatchLimit; B *= 2) {
    const sampler = new BatchSampler({ tokens, batchSize: B, blockSize: T, seed: 3 });
    const times: number[] = [];
    try {
      for (let i = 0; i < maxBatchSteps; i++) {
        const b = sampler.next();
        const t0 = performance.now();
        await trainStep(model, optimizer, [b], { autocast, gradClip: settings.gradClip, device });
        times.push(performance.now() - t0);
      }
    } catch (e) {
      optimizer.zeroGrad();
      emptyCache(device);
      const msg = String((e as Error).message ?? e).split('\n')[0].slice(0, 300);
      return { best, failedAt: B, error: /out of memory/i.test(msg) ? msg : `not out of memory: ${msg}`, limit: maxBatchLimit };
    }
    const stepMs = median(times.slice(2));
    best = { batch: B, stepMs, tokensPerSec: (B * T) / (stepMs / 1000) };
  }
  return { best, failedAt: null, error: '', limit: maxBatchLimit };
}

/** The largest |a[i] - b[i]| of the two curves' `w`-step means (w = 1: per step); NaN with fewer than w steps. */
function maxGap(a: readonly number[], b: readonly number[], w = 1): number {
  let gap = Math.min(a.length, b.length) < w ? NaN : 0;
  for (let i = 0; i + w <= Math.min(a.length, b.length); i += w) {
    let d = 0;
    for (let k = i; k < i + w; k++) d += a[k] - b[k];
    gap = Math.max(gap, Math.abs(d / w));
  }
  return gap;
}

async function main(): Promise<void> {
  check(onCpu || /^cuda(:\d+)?$/.test(device), `--device: expected cpu, cuda or cuda:N, got ${device}`);
  check(autocastArg === 'bf16' || autocastArg === 'none', `--autocast: expected bf16 or none, got ${autocastArg}`);
  check(preset in GPT_PRESETS, `--preset: expected one of ${Object.keys(GPT_PRESETS).join(', ')}, got ${preset}`);
  for (const [k, v] of Object.entries({ batch: batchSize, block: T, steps, 'grad-accum': gradAccum }))
    check(Number.isInteger(v) && v >= 1, `--${k}: expected a positive integer, got ${v}`);
  check(steps >= 2, '--steps: at least 2 (one warm-up step, one timed)');
  if (!onCpu && !cudaAvailable()) {
    const info = buildInfo();
    console.log(`gpu-train: skipped: ${info.cuda ? info.cudaUnavailableReason || 'no CUDA device' : 'glm-native was built without CUDA'}`);
    return;
  }
  const autocast = autocastArg === 'bf16' ? 'bf16' as const : undefined;

  const { tokenizer, shard } = await corpusTokens('gpt2');
  const vocabSize = Math.max(tokenizer.vocabSize, vocabPad);
  const config = gptConfig(preset, { vocabSize, dropout: 0, blockSize: Math.max(GPT_PRESETS[preset].blockSize, T) });
  const split = splitTokens(shard.length, { valFraction: 0.1 });
  const sampler = new BatchSampler({ tokens: shard.tokens, ranges: split.train, batchSize, blockSize: T, seed: 1 });
  const micro = Array.from({ length: steps * gradAccum }, () => sampler.next());

  // The initial weights on the CPU: written for the twin, then copied to our device model.
  const init = new GPT(config, { seed: 1234 });
  const jobDir = writeTrainJob('glm-gpu-train-', init, micro, null, {
    model: config, train: settings, steps, gradAccum, blockSize: T, warmupSteps, device, autocast: autocastArg,
    maxBatch: maxBatch ? { limit: maxBatchLimit, steps: maxBatchSteps } : null,
  });
  const threads = onCpu ? Math.min(2, os.cpus().length) : 1;
  const eager = runPeer<TorchTrain>('gpu_train_torch.py', { jobDir, compile: false }, threads, { gpu: !onCpu });
  const compiled = compile ? runPeer<TorchTrain>('gpu_train_torch.py', { jobDir, compile: true }, threads, { gpu: !onCpu }) : null;
  fs.rmSync(jobDir, { recursive: true, force: true });

  const model = new GPT(config, { seed: 1234, device });
  model.loadStateDict(init.stateDict());
  init.dispose();
  const optimizer = new AdamW(model.parameterGroups(settings.weightDecay), { lr: settings.lr, betas: [settings.beta1, settings.beta2] });
  const schedule = cosineWithWarmup({ maxLr: settings.lr, minLr: settings.minLr, warmupSteps: settings.warmupSteps, totalSteps: steps });
  const losses: number[] = [], times: number[] = [];
  for (let step = 0; step < steps; step++) {
    optimizer.lr = schedule(step);
    const t0 = performance.now();
    losses.push(await trainStep(model, optimizer, micro.slice(step * gradAccum, (step + 1) * gradAccum), { autocast, gradClip: settings.gradClip, device }));
    times.push(performance.now() - t0);
  }
  const mem = memory(device);
  const stepMs = median(times.slice(warmupSteps));
  const gpuName = onCpu ? `${os.cpus()[0]?.model} (CPU)` : devices().find((d) => d.name === (device === 'cuda' ? 'cuda:0' : device))?.description ?? device;
  const peak = peakFlops(gpuName);
  const N = model.numParameters();
  const { nLayer: L, nEmbd: C } = config;
  const flopsPerToken = 6 * N + 6 * L * C * T, flopsPerTokenPalm = 6 * N + 12 * L * C * T;
  const tokensPerStep = batchSize * T * gradAccum;
  const side = (tps: number | undefined) => ({
    mfu: tps && peak ? (tps * flopsPerToken) / peak : null,
    mfuPalm: tps && peak ? (tps * flopsPerTokenPalm) / peak : null,
  });
  const ours = { stepMs, tokensPerSec: tokensPerStep / (stepMs / 1000), peakAllocatedBytes: mem.peakAllocated, reservedBytes: mem.reserved, losses };
  const e = eager.results, c = compiled?.results ?? null;
  const torchOk = (r: TorchTrain | null): r is TorchTrain & { losses: number[]; stepMs: number; tokensPerSec: number } => !!r && !!r.losses;
  const ratio = torchOk(e) ? ours.tokensPerSec / e.tokensPerSec : null;
  const report = (ourMax: MaxBatch | null) => ({
    benchmark: 'gpu-train', date: new Date().toISOString(), device: gpuName, deviceArg: device, cudaArchitectures: buildInfo().cudaArchitectures,
    torch: eager.version || null, torchReason: eager.reason || null, model: config, parameters: N, batchSize, blockSize: T, gradAccum, steps,
    warmupSteps, autocast: autocastArg, train: settings, tokensPerStep, peakFlops: peak, flopsPerToken, flopsPerTokenPalm,
    ours: { ...ours, maxBatch: ourMax, ...side(ours.tokensPerSec) }, torchEager: e ? { ...e, ...side(e.tokensPerSec) } : null,
    torchCompile: c ? { ...c, ...side(c.tokensPerSec) } : null, ratio,
    lossGap: torchOk(e) ? { perStep: maxGap(losses, e.losses), mean10: maxGap(losses, e.losses, 10) } : null,
  });
  // Should the search below take the process down (a failed allocation outside the allocator's check),
  // the main figures are out already: gpu-run.sh keeps the last JSON line.
  if (maxBatch) console.log(JSON.stringify({ ...report(null), partial: 'printed before our --max-batch search' }));
  const ourMax = maxBatch ? await searchMaxBatch(model, optimizer, shard.tokens, autocast) : null;
  optimizer.dispose();
  model.dispose();

  if (!jsonOnly) {
    const torchNote = (p: typeof eager | null, r: TorchTrain | null) =>
      !p ? 'not run' : !p.results ? `absent: ${p.reason.slice(0, 300)}` : r?.compileError ? `failed: ${r.compileError}` : `torch ${p.version}`;
    console.log(`GPT ${preset} (${L}L ${config.nHead}H ${C}, vocab ${vocabSize}${vocabSize > tokenizer.vocabSize ? ` padded from ${tokenizer.vocabSize}` : ''}, ` +
      `${(N / 1e6).toFixed(1)}M parameters), B ${batchSize} × T ${T} × ${gradAccum} micro-batches = ${tokensPerStep} tokens/step, ${steps} steps, ` +
      `autocast ${autocastArg}; ${gpuName}; ${new Date().toISOString()}`);
    console.log(`torch eager: ${torchNote(eager, e)}${e ? ` (${e.attention}, AdamW ${e.optimizer})` : ''}; torch.compile: ${torchNote(compiled, c)}`);
    const mib = (b: number | null | undefined) => (b === null || b === undefined ? '-' : fmt(b / MiB));
    const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
    const col = (r: TorchTrain | null, f: (r: TorchTrain & { losses: number[]; stepMs: number; tokensPerSec: number }) => string) => (torchOk(r) ? f(r) : '-');
    const rows: string[][] = [
      ['step ms (median)', fmt(ours.stepMs), col(e, (r) => fmt(r.stepMs)), col(c, (r) => fmt(r.stepMs)), '', ''],
      ['tokens/s', fmt(ours.tokensPerSec), col(e, (r) => fmt(r.tokensPerSec)), col(c, (r) => fmt(r.tokensPerSec)),
        ratio === null ? '-' : `${ratio.toFixed(2)}x`, `>= 1.0x eager ${ratio === null ? '' : ratio >= 1 ? 'ok' : 'MISS'}` +
        (/H100/i.test(gpuName) ? `; >= 470K ${ours.tokensPerSec >= 470e3 ? 'ok' : 'MISS'}` : '')],
      ['MFU (6N + 6LCT)', pct(side(ours.tokensPerSec).mfu), pct(side(e?.tokensPerSec).mfu), pct(side(c?.tokensPerSec).mfu), '', peak ? `of ${fmt(peak / 1e12)} TFLOP/s` : 'no peak known'],
      ['peak allocated MiB', mib(ours.peakAllocatedBytes), mib(e?.peakAllocatedBytes), mib(c?.peakAllocatedBytes), '', ''],
      ['reserved MiB (ours now, torch peak)', mib(ours.reservedBytes), mib(e?.peakReservedBytes), mib(c?.peakReservedBytes), '', ''],
      [`loss at step 1 / ${steps}`, `${fmt(losses[0])} / ${fmt(losses[steps - 1])}`, col(e, (r) => `${fmt(r.losses[0])} / ${fmt(r.losses[steps - 1])}`),
        col(c, (r) => `${fmt(r.losses[0])} / ${fmt(r.losses[steps - 1])}`), '', ''],
      ['loss, largest per-step |Δ| to ours', '', col(e, (r) => maxGap(losses, r.losses).toFixed(4)), col(c, (r) => maxGap(losses, r.losses).toFixed(4)), '', ''],
      ['loss, largest |Δ| of 10-step means', '', col(e, (r) => maxGap(losses, r.losses, 10).toFixed(4)), col(c, (r) => maxGap(losses, r.losses, 10).toFixed(4)), '', steps < 10 ? 'needs >= 10 steps' : ''],
    ];
    if (maxBatch) {
      const mb = (m: MaxBatch | null | undefined) => (!m ? '-' : m.best ? `${m.best.batch}: ${fmt(m.best.tokensPerSec)} tok/s` : `none (${m.failedAt})`);
      rows.push(['largest B (2B, 4B, ...) that fits', mb(ourMax), mb(e?.maxBatch), '', '', `limit ${maxBatchLimit}`]);
      for (const [who, m] of [['ours', ourMax], ['torch', e?.maxBatch]] as const)
        if (m?.error) console.log(`max-batch ${who}: stopped at B ${m.failedAt}: ${m.error}`);
    }
    printTable(['', 'ours', 'torch eager', 'torch.compile', 'ours/eager', 'target'], rows);
    if (lossCurve && torchOk(e)) {
      const every = Math.max(1, Math.round(steps / 20));
      const curve: string[][] = [];
      for (let i = 0; i < steps; i += every) curve.push([String(i + 1), losses[i].toFixed(4), e.losses[i].toFixed(4), (losses[i] - e.losses[i]).toFixed(4)]);
      console.log('\nloss curve (train loss of each step, same seed and batches)');
      printTable(['step', 'ours', 'torch eager', 'Δ'], curve);
    }
  }
  console.log(JSON.stringify(report(ourMax)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
