/**
 * Decoding benchmark: greedy tokens/s of a GPT here and in PyTorch (benchmarks/generate_torch.py) in
 * one run, from the same seeded random weights and the same random prompts, at batch 1 and 8, with a
 * KV cache (prefill the prompt once, then one token per step) and without one (the whole window
 * recomputed every token). The prefill (the first pass over the prompt) is timed apart; tokens/s is
 * batch / median step time. Also checks that both sides pick the same greedy tokens.
 *
 *   npx tsx benchmarks/generate.ts [--model small|gpt2|all] [--prompt P] [--tokens N] [--json]
 *
 * Defaults: a 64-token prompt, then 64 new tokens for small and 32 for gpt2, and 16 for gpt2 at batch
 * 8 without a cache (each of its steps recomputes 8 windows of ~80 tokens of a 124M model).
 */
import * as fs from 'fs';
import * as os from 'os';

import { buildInfo, numThreads } from '../lib/device';
import { GPT, gptConfig, GPTPresetName } from '../lib/models/gpt';
import { fmt, printTable } from '../lib/bench/timing';
import { arg } from './args';
import { agreement, DecodeCase as Case, decodeOurs, DecodeResult as CaseResult, randomPrompts, writeDecodeJob } from './decodeBench';
import { runPeer } from './peer';

const which = arg('model', 'all');
const promptLength = Number(arg('prompt', '64'));
const tokensArg = arg('tokens', '');

function casesFor(preset: GPTPresetName): Case[] {
  const n = tokensArg ? Number(tokensArg) : preset === 'gpt2' ? 32 : 64;
  const out: Case[] = [];
  for (const batch of [1, 8])
    for (const cache of [true, false])
      out.push({ batch, cache, newTokens: !tokensArg && preset === 'gpt2' && batch === 8 && !cache ? 16 : n });
  return out;
}

async function benchPreset(preset: GPTPresetName): Promise<Record<string, unknown>[]> {
  const config = gptConfig(preset, { dropout: 0, vocabSize: preset === 'gpt2' ? 50257 : 65 });
  const cases = casesFor(preset);
  const prompts = randomPrompts(8, promptLength, config.vocabSize);
  const model = new GPT(config, { seed: 1234 });
  const ours: CaseResult[] = [];
  const jobDir = writeDecodeJob('glm-generate-bench-', model, prompts, { model: config, cases, promptLength });
  try {
    // Warm-up at both batch sizes (first-touch allocations; a first batch-8 prefill ran 2-4x its later
    // time here, and the twin does the same).
    for (const batch of [1, 8]) await decodeOurs(model, prompts, promptLength, { batch, cache: true, newTokens: 3 });
    for (const c of cases) ours.push(await decodeOurs(model, prompts, promptLength, c));
  } finally {
    model.dispose();
  }
  const peer = runPeer<CaseResult[]>('generate_torch.py', { jobDir });
  fs.rmSync(jobDir, { recursive: true, force: true });
  const t = peer.results;
  console.log(`\nGPT ${preset} (${config.nLayer}L ${config.nHead}H ${config.nEmbd}, vocab ${config.vocabSize}), random weights, greedy, ` +
    `${promptLength}-token prompt; ${os.cpus()[0]?.model}, ${numThreads()} threads, ${buildInfo().cpuLevel}; torch ${peer.version || `absent: ${peer.reason}`}`);
  const rows: Record<string, unknown>[] = [];
  const table: string[][] = [];
  cases.forEach((c, i) => {
    const o = ours[i], p = t?.[i];
    const agree = p ? agreement(o.tokens, p.tokens) : null;
    const ratio = p ? o.tokensPerSec / p.tokensPerSec : null;
    const isTarget = c.cache && c.batch === 1;
    table.push([
      `B${c.batch} ${c.cache ? 'KV cache' : 'no cache'}, ${c.newTokens} new`,
      fmt(o.prefillMs), p ? fmt(p.prefillMs) : '-', fmt(o.stepMs), p ? fmt(p.stepMs) : '-',
      fmt(o.tokensPerSec), p ? fmt(p.tokensPerSec) : '-', ratio === null ? '-' : `${ratio.toFixed(2)}x`,
      agree === null ? '-' : `${agree}/${c.newTokens}`,
      isTarget ? `>= 1.5x ${ratio === null ? '' : ratio >= 1.5 ? 'ok' : 'MISS'}` : '',
    ]);
    rows.push({ preset, ...c, ours: { prefillMs: o.prefillMs, stepMs: o.stepMs, tokensPerSec: o.tokensPerSec },
      torch: p ? { prefillMs: p.prefillMs, stepMs: p.stepMs, tokensPerSec: p.tokensPerSec } : null, ratio, agree });
  });
  // Ours with and without the cache must pick the same tokens too (same arithmetic up to rounding).
  for (const b of [1, 8]) {
    const ci = cases.findIndex((c) => c.cache && c.batch === b), ui = cases.findIndex((c) => !c.cache && c.batch === b);
    const n = Math.min(cases[ci].newTokens, cases[ui].newTokens);
    const cut = (r: CaseResult) => r.tokens.map((row) => row.slice(0, n));
    console.log(`ours cached vs uncached, batch ${b}: ${agreement(cut(ours[ci]), cut(ours[ui]))}/${n} leading tokens agree on every row`);
  }
  printTable(['case', 'prefill ms ours', 'torch', 'step ms ours', 'torch', 'tok/s ours', 'torch', 'ours/torch', 'greedy agree', 'target'], table);
  return rows;
}

async function main(): Promise<void> {
  const presets: GPTPresetName[] = which === 'all' ? ['small', 'gpt2'] : [which as GPTPresetName];
  const results: Record<string, unknown>[] = [];
  for (const p of presets) results.push(...(await benchPreset(p)));
  console.log(JSON.stringify({
    benchmark: 'generate', date: new Date().toISOString(), cpu: os.cpus()[0]?.model, threads: numThreads(),
    cpuLevel: buildInfo().cpuLevel, load: os.loadavg(), promptLength, results,
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
