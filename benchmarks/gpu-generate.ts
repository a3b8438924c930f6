/**
 * GPU decoding benchmark (issue 7): greedy tokens/s of GPT-2 124M with a KV cache at batch 1 and 8, here
 * (lib/generate's step: GPT.forwardCached with a bf16 cache, then the greedy pick read back) and in
 * PyTorch (benchmarks/gpu_generate_torch.py, run first in its own process so the GPU is free for each
 * side in turn): eager with a torch.cat cache, and a static cache replayed as a CUDA graph. Both sides
 * start from the same seeded random weights and the same random prompts; the prefill (the first pass
 * over the prompt) is timed apart, tokens/s is batch / median step time, and the greedy tokens are
 * compared position by position (how many leading tokens agree on every row). With bf16 on both sides
 * the two run different kernels, and random weights give near-tied logits, so agreement is expected to
 * break off after a few tokens; --autocast none checks it at f32.
 *
 *   npx tsx benchmarks/gpu-generate.ts [--device cuda|cuda:N|cpu] [--preset gpt2|small|tiny] [--prompt P]
 *     [--tokens N] [--batches 1,8] [--autocast bf16|none] [--vocab V] [--uncached]
 *     [--torch eager,graphs,static] [--json]
 *
 * Defaults: cuda, gpt2, a 64-token prompt then 256 new tokens (32 on the CPU), batches 1 and 8, bf16
 * on CUDA and none on the CPU, vocabulary 50257, torch variants eager and graphs on CUDA, eager and
 * static (the graph's static cache without the graph, to check it) on the CPU. --uncached adds cases
 * without a KV cache (the whole window recomputed every token; eager torch only). Without a CUDA device a
 * cuda run prints one "skipped" line and exits 0.
 *
 * CPU check at small size:
 *   npx tsx benchmarks/gpu-generate.ts --device cpu --preset tiny --prompt 16 --tokens 16 --uncached
 * GPU session (benchmarks/gpu-run.sh stage generate):
 *   node --import tsx benchmarks/gpu-generate.ts
 */
import * as os from 'os';
import * as fs from 'fs';

import { buildInfo, cudaAvailable, devices } from '../lib/device';
import { GPT, gptConfig, GPT_PRESETS, GPTPresetName } from '../lib/models/gpt';
import { fmt, printTable } from '../lib/bench/timing';
import { arg, flag, numArg } from './args';
import { agreement, DecodeCase, decodeOurs, DecodeResult, randomPrompts, writeDecodeJob } from './decodeBench';
import { runPeer } from './peer';

const device = arg('device', 'cuda');
const onCpu = device === 'cpu';
const preset = arg('preset', 'gpt2') as GPTPresetName;
const promptLength = numArg('prompt', 64);
const newTokens = numArg('tokens', onCpu ? 32 : 256);
const batches = arg('batches', '1,8').split(',').map(Number);
const autocastArg = arg('autocast', onCpu ? 'none' : 'bf16');
const vocabSize = numArg('vocab', 50257);
const uncached = flag('uncached');
const variants = arg('torch', onCpu ? 'eager,static' : 'eager,graphs').split(',');
const jsonOnly = flag('json');
const TORCH_VARIANTS = ['eager', 'graphs', 'static'];

interface TorchDecode {
  device: string;
  attention: string;
  dtype: string;
  /** Per variant: one result per case (null where the variant does not run it), or the error. */
  variants: Record<string, (DecodeResult | null)[] | { error: string }>;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`gpu-generate: ${what}`);
}

async function main(): Promise<void> {
  check(onCpu || /^cuda(:\d+)?$/.test(device), `--device: expected cpu, cuda or cuda:N, got ${device}`);
  check(autocastArg === 'bf16' || autocastArg === 'none', `--autocast: expected bf16 or none, got ${autocastArg}`);
  check(preset in GPT_PRESETS, `--preset: expected one of ${Object.keys(GPT_PRESETS).join(', ')}, got ${preset}`);
  check(batches.length > 0 && batches.every((b) => Number.isInteger(b) && b >= 1), `--batches: expected positive integers like 1,8, got ${arg('batches', '')}`);
  check(variants.every((v) => TORCH_VARIANTS.includes(v)), `--torch: expected some of ${TORCH_VARIANTS.join(',')}, got ${variants.join(',')}`);
  check(Number.isInteger(newTokens) && newTokens >= 2, `--tokens: at least 2 (the prefill's token, then timed steps), got ${newTokens}`);
  check(Number.isInteger(promptLength) && promptLength >= 1, `--prompt: a positive integer, got ${promptLength}`);
  const block = GPT_PRESETS[preset].blockSize;
  check(promptLength + newTokens <= block, `--prompt + --tokens: at most the ${preset} block size ${block}, got ${promptLength + newTokens}`);
  if (!onCpu && !cudaAvailable()) {
    const info = buildInfo();
    console.log(`gpu-generate: skipped: ${info.cuda ? info.cudaUnavailableReason || 'no CUDA device' : 'glm-native was built without CUDA'}`);
    return;
  }
  const autocast = autocastArg === 'bf16' ? 'bf16' as const : undefined;

  const config = gptConfig(preset, { dropout: 0, vocabSize });
  const cases: DecodeCase[] = batches.map((batch) => ({ batch, cache: true, newTokens }));
  if (uncached) cases.push(...batches.map((batch) => ({ batch, cache: false, newTokens })));
  const prompts = randomPrompts(Math.max(...batches), promptLength, vocabSize);

  const init = new GPT(config, { seed: 1234 });
  const jobDir = writeDecodeJob('glm-gpu-generate-', init, prompts, { model: config, cases, promptLength, device, autocast: autocastArg, variants });
  const peer = runPeer<TorchDecode>('gpu_generate_torch.py', { jobDir }, onCpu ? Math.min(2, os.cpus().length) : 1, { gpu: !onCpu });
  fs.rmSync(jobDir, { recursive: true, force: true });

  const model = new GPT(config, { seed: 1234, device });
  model.loadStateDict(init.stateDict());
  init.dispose();
  const ours: DecodeResult[] = [];
  try {
    await decodeOurs(model, prompts, promptLength, { batch: 1, cache: true, newTokens: 8 }, autocast);  // warm-up: first-touch allocations, JIT
    for (const c of cases) ours.push(await decodeOurs(model, prompts, promptLength, c, autocast));
  } finally {
    model.dispose();
  }

  const gpuName = onCpu ? `${os.cpus()[0]?.model} (CPU)` : devices().find((d) => d.name === (device === 'cuda' ? 'cuda:0' : device))?.description ?? device;
  const t = peer.results;
  const theirs = (v: string, i: number): DecodeResult | null => {
    const r = t?.variants[v];
    return Array.isArray(r) ? r[i] ?? null : null;
  };
  const rows = cases.map((c, i) => {
    const o = ours[i];
    const perVariant = Object.fromEntries(variants.map((v) => {
      const p = theirs(v, i);
      return [v, p ? { prefillMs: p.prefillMs, stepMs: p.stepMs, tokensPerSec: p.tokensPerSec, ratio: o.tokensPerSec / p.tokensPerSec, agree: agreement(o.tokens, p.tokens) } : null];
    }));
    const e = theirs('eager', i), g = theirs(variants.find((v) => v !== 'eager') ?? '', i);
    return { ...c, ours: { prefillMs: o.prefillMs, stepMs: o.stepMs, tokensPerSec: o.tokensPerSec }, torch: perVariant,
      torchEagerVsStatic: e && g ? agreement(e.tokens, g.tokens) : null };
  });

  if (!jsonOnly) {
    console.log(`GPT ${preset} (${config.nLayer}L ${config.nHead}H ${config.nEmbd}, vocab ${vocabSize}), random weights, greedy, ${promptLength}-token prompt, ` +
      `${newTokens} new tokens, ${autocastArg === 'bf16' ? 'bf16' : 'f32'}; ${gpuName}; ${new Date().toISOString()}`);
    console.log(`torch ${peer.version || `absent: ${peer.reason.slice(0, 300)}`}${t ? ` (${t.attention}, ${t.dtype} weights)` : ''}; variants: ` +
      variants.map((v) => { const r = t?.variants[v]; return `${v}${r && !Array.isArray(r) ? ` failed: ${r.error}` : ''}`; }).join(', '));
    const table = rows.map((r, i) => {
      const cells = [`B${r.batch} ${r.cache ? 'KV cache' : 'no cache'}`, fmt(r.ours.prefillMs), fmt(r.ours.stepMs), fmt(r.ours.tokensPerSec)];
      for (const v of variants) {
        const p = r.torch[v];
        cells.push(p ? `${fmt(p.tokensPerSec)} (${p.ratio.toFixed(2)}x, ${p.agree}/${cases[i].newTokens})` : '-');
      }
      const target = r.cache && r.batch === 1 && /H100/i.test(gpuName) ? `>= 3000 tok/s ${r.ours.tokensPerSec >= 3000 ? 'ok' : 'MISS'}` : '';
      return [...cells, r.torchEagerVsStatic === null ? '-' : `${r.torchEagerVsStatic}/${cases[i].newTokens}`, target];
    });
    printTable(['case', 'prefill ms', 'step ms', 'tok/s ours', ...variants.map((v) => `torch ${v} tok/s (ours/it, agree)`), 'torch eager vs static agree', 'target'], table);
  }
  console.log(JSON.stringify({
    benchmark: 'gpu-generate', date: new Date().toISOString(), device: gpuName, deviceArg: device, cudaArchitectures: buildInfo().cudaArchitectures,
    torch: peer.version || null, torchReason: peer.reason || null, torchAttention: t?.attention ?? null, torchDtype: t?.dtype ?? null,
    torchErrors: t ? Object.fromEntries(Object.entries(t.variants).filter(([, r]) => !Array.isArray(r))) : null,
    model: config, promptLength, newTokens, autocast: autocastArg, results: rows,
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
