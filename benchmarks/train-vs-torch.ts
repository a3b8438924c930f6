/**
 * Training benchmark: the same GPT trained N steps here and in PyTorch (benchmarks/train_torch.py) in
 * one run, from the same initial weights, on the same batches (character-level, the default corpus),
 * with the same AdamW (decay on matrices only), warmup + cosine schedule and clipping. Reports both
 * runs' validation loss at step N, their per-step train losses' largest gap, and tokens/s (median step
 * time after warmup). Dropout is off on both sides: their masks could not match.
 *
 *   npx tsx benchmarks/train-vs-torch.ts [--model small|mini] [--steps N] [--batch B] [--json]
 *
 * small = preset small (6 layers, 6 heads, 384 wide, block 256); mini = 4 layers, 4 heads, 128 wide,
 * block 128 (the issue's second figure).
 */
import * as fs from 'fs';
import * as os from 'os';

import { BatchSampler, splitTokens } from '../lib/data';
import { buildInfo, numThreads, synchronize } from '../lib/device';
import { GPT, gptConfig, GPTConfig } from '../lib/models/gpt';
import { AdamW } from '../lib/optim/adamw';
import { cosineWithWarmup } from '../lib/optim/schedule';
import { evaluateLoss } from '../lib/train/trainer';
import { fmt, printTable } from '../lib/bench/timing';
import { arg } from './args';
import { runPeer } from './peer';
import { corpusTokens, median, trainStep, writeTrainJob } from './trainBench';

const which = arg('model', 'small');
const steps = Number(arg('steps', which === 'small' ? '60' : '150'));
const batchSize = Number(arg('batch', which === 'small' ? '8' : '16'));
const warmupSteps = 3;  // steps left out of the timing (first-touch allocations, caches)
const settings = { batchSize, lr: 1e-3, minLr: 1e-4, warmupSteps: Math.min(10, steps), weightDecay: 0.1, beta1: 0.9, beta2: 0.99, gradClip: 1 };
const valBatches = 8;

async function main(): Promise<void> {
  const { tokenizer, shard } = await corpusTokens('char');
  const overrides: Partial<GPTConfig> = which === 'small'
    ? { dropout: 0, vocabSize: tokenizer.vocabSize }
    : { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 128, dropout: 0, vocabSize: tokenizer.vocabSize };
  const config = gptConfig('small', overrides);
  const T = config.blockSize;
  const split = splitTokens(shard.length, { valFraction: 0.1 });
  const sampler = new BatchSampler({ tokens: shard.tokens, ranges: split.train, batchSize, blockSize: T, seed: 1 });
  const valSampler = new BatchSampler({ tokens: shard.tokens, ranges: split.val, batchSize, blockSize: T, seed: 2 });
  const batches = Array.from({ length: steps }, () => sampler.next());

  const model = new GPT(config, { seed: 1234 });
  const jobDir = writeTrainJob('glm-train-bench-', model, batches, valSampler.evalBatches(valBatches), { model: config, train: settings, steps, warmupSteps });

  // Ours: the step of lib/train/trainer.ts without its logging.
  const optimizer = new AdamW(model.parameterGroups(settings.weightDecay), { lr: settings.lr, betas: [settings.beta1, settings.beta2] });
  const schedule = cosineWithWarmup({ maxLr: settings.lr, minLr: settings.minLr, warmupSteps: settings.warmupSteps, totalSteps: steps });
  const ours: number[] = [], times: number[] = [];
  for (let step = 0; step < steps; step++) {
    const t0 = performance.now();
    optimizer.lr = schedule(step);
    const loss = await trainStep(model, optimizer, [batches[step]], { gradClip: settings.gradClip, device: 'cpu' });
    synchronize('cpu');
    times.push(performance.now() - t0);
    ours.push(loss);
  }
  const ourVal = await evaluateLoss(model, valSampler, valBatches, batchSize, 'cpu', 'none');
  const ourStepMs = median(times.slice(warmupSteps));

  const peer = runPeer<{ losses: number[]; valLoss: number; stepMs: number; tokensPerSec: number }>('train_torch.py', { jobDir });
  fs.rmSync(jobDir, { recursive: true, force: true });
  const ourTps = (batchSize * T) / (ourStepMs / 1000);
  const t = peer.results;
  const maxGap = t ? Math.max(...ours.map((l, i) => Math.abs(l - t.losses[i]))) : NaN;
  const label = which === 'small' ? 'small (6L 6H 384, block 256)' : 'mini (4L 4H 128, block 128)';
  console.log(`GPT ${label}, char-level, batch ${batchSize}, ${steps} steps; ${os.cpus()[0]?.model}, ${numThreads()} threads, ${buildInfo().cpuLevel}; torch ${peer.version || `absent: ${peer.reason}`}`);
  printTable(['', 'ours', 'torch', 'ours/torch', 'target'], [
    ['val loss at step ' + steps, fmt(ourVal), t ? fmt(t.valLoss) : '-', t ? `Δ ${(ourVal - t.valLoss).toFixed(4)}` : '-', '|Δ| <= 0.03 ' + (t ? (Math.abs(ourVal - t.valLoss) <= 0.03 ? 'ok' : 'MISS') : '')],
    ['train loss, largest per-step gap', '', '', t ? maxGap.toFixed(4) : '-', ''],
    ['step ms (median)', fmt(ourStepMs), t ? fmt(t.stepMs) : '-', '', ''],
    ['tokens/s', fmt(ourTps), t ? fmt(t.tokensPerSec) : '-', t ? `${(ourTps / t.tokensPerSec).toFixed(2)}x` : '-', '>= 1.3x ' + (t ? (ourTps / t.tokensPerSec >= 1.3 ? 'ok' : 'MISS') : '')],
  ]);
  console.log(JSON.stringify({
    benchmark: 'train-vs-torch', date: new Date().toISOString(), cpu: os.cpus()[0]?.model, threads: numThreads(), cpuLevel: buildInfo().cpuLevel,
    torch: peer.version, model: config, batchSize, steps, ours: { valLoss: ourVal, stepMs: ourStepMs, tokensPerSec: ourTps, losses: ours },
    torchResults: t, ratio: t ? ourTps / t.tokensPerSec : null, valLossGap: t ? ourVal - t.valLoss : null,
  }));
  optimizer.dispose();
  model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
