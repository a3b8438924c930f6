/**
 * lib/generate: incremental decoding never splits a character (byte-fallback and byte-level BPE ids
 * cutting UTF-8 / WTF-8 sequences), stop strings across piece boundaries, greedy decoding against a
 * full-recompute reference (past blockSize too), determinism by seed, streamed pieces = generateText,
 * batched prompts = each alone, end-of-text, prompt truncation, abort, the event loop ticking during
 * a long generation, bad input, and logit bias (bans hold over many draws and every row, a large
 * bias wins greedy decoding, the bias tensor is what sampleLogits adds, the stand-in agrees, errors).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { generate, generateBatch, generateText, IncrementalDecoder, StopMatcher } from '../lib/generate';
import { memory, noGrad, scope, synchronize, Tensor } from '../lib/index';
import { GPT, GPTConfig } from '../lib/models/gpt';
import { CharTokenizer, Tokenizer, trainBpe } from '../lib/tokenizer';
import { nativeSampler, pickRow, pickTokens } from '../lib/generate/pickTokens';
import { logitBiasTensor } from '../lib/generate/decode';
import { resolveLogitBias } from '../lib/generate/options';
import { sampleLogits } from '../lib/ops/sample';
import { assertThrows } from './helpers/assert';
import { settledAllocated } from './helpers/memory';
import { rng } from './helpers/random';
import { processLogitsRef } from './reference/sample';

const CORPUS = 'the quick brown fox jumps over the lazy dog. THE END! 0123456789 ,;:?\n';
const tok = CharTokenizer.fromCorpus(CORPUS);

/** A model over `tok` with random weights of scale 0.5 (sharp, seed-dependent distributions). */
function model(over: Partial<GPTConfig> = {}, seed = 1): GPT {
  const cfg: GPTConfig = { vocabSize: tok.vocabSize, nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 48, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000, ...over };
  const m = new GPT(cfg, { seed });
  const r = rng();
  scope(() => m.loadStateDict(Object.fromEntries(m.specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return [s.name, Tensor.from(Float32Array.from({ length: n }, () => r.normal() * 0.5), s.shape)];
  }))));
  return m;
}

async function pieces(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of it) out.push(p);
  return out;
}

/** True when s holds a lone surrogate. */
function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

const text = suite('incremental text');

text('pieces of byte-fallback and byte-level BPE ids are whole characters and concatenate to decode()', () => {
  const samples = ['héllo wörld €100 — 日本語 😀👍🏽 done', 'a\u{1F600}b', 'x\uD800y\uDC00z', '\uD83D\uDE00\uD800\uDFFF\uFFFDok'];
  const bpe = trainBpe(['héllo wörld 日本語 😀 the quick brown fox'], { vocabSize: 300 });
  for (const t of [tok, bpe] as Tokenizer[]) {
    for (const s of samples) {
      const ids = t.encode(s);
      assert.ok(ids.length > [...s].length || t === bpe, 'byte fallback: more ids than characters');
      const dec = new IncrementalDecoder(t);
      const out: string[] = [];
      for (const id of ids) out.push(dec.push(id));
      out.push(dec.flush());
      assert.is(out.join(''), s, `${t.kind}: concatenation`);
      const whole = t.decode(ids);
      for (const p of out) {
        // A piece may hold U+FFFD or a lone surrogate only where the text itself does.
        if (p.includes('\uFFFD')) assert.ok(whole.includes('\uFFFD'), `${t.kind}: no invented U+FFFD in ${JSON.stringify(p)}`);
        if (hasLoneSurrogate(p)) assert.ok(hasLoneSurrogate(s), `${t.kind}: no split surrogate pair in ${JSON.stringify(p)}`);
      }
      // A 4-byte emoji as byte-fallback ids: three ids give nothing, the fourth the whole character.
      if (t === tok && s === 'a\u{1F600}b') assert.equal(out, ['a', '', '', '', '\u{1F600}', 'b', '']);
    }
  }
});

text('StopMatcher: stop strings across pieces are withheld, text that only looked like one is released', () => {
  const m = new StopMatcher(['END', 'xyz']);
  assert.equal(['ab', 'cE', 'N', 'x', 'q'].map((p) => m.push(p)), ['ab', 'c', '', 'EN', 'xq']);
  assert.is(m.stopped, false);
  assert.is(m.push('tE'), 't');
  assert.is(m.push('ND more'), '');
  assert.is(m.stopped, true);
  assert.is(m.flush(), '');
  const first = new StopMatcher(['cd', 'bcd!']);
  assert.is(first.push('abcd!'), 'a', 'the stop string that occurs first wins');
  const tail = new StopMatcher(['zz']);
  assert.is(tail.push('az'), 'a');
  assert.is(tail.flush(), 'z', 'a held tail comes out at the end');
});
text('pickTokens uses the native op; the TypeScript stand-in agrees with it where the draw does not matter', async () => {
  const sample = nativeSampler();
  if (!sample) console.log('  [pickTokens] the loaded addon has no sampleTokens kernel: the stand-in is in use');
  const r = rng();
  const V = 50, B = 4;
  const base = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1.3, frequencyPenalty: 0.2, presencePenalty: 0.4 };
  const logits = r.normals(B * V);
  const histories = Array.from({ length: B }, () => Array.from(r.ints(6, 0, V)));
  // "Where the draw does not matter": each row's best penalized logit leads the next by >= 0.01, so
  // the greedy picks and min-p 0.999 (a second candidate needs a gap below 0.0007 at temperature 0.7)
  // have one answer. A closer pair (about one run in 150) is redrawn rather than left to the draw.
  for (let b = 0; b < B; b++) {
    for (;;) {
      const row = logits.subarray(b * V, (b + 1) * V);
      const z = Array.from(processLogitsRef(row, 1, V, base, { ids: histories[b], L: histories[b].length })).sort((x, y) => y - x);
      if (z[0] - z[1] >= 0.01) break;
      row.set(r.normals(V));
    }
  }
  const t = Tensor.from(logits, [B, V]);
  for (const p of [base, { ...base, temperature: 1, topK: 1 }, { ...base, temperature: 0.7, minP: 0.999 }]) {
    const got = await pickTokens(t, p, histories, [1, 2, 3, 4], [0, 0, 0, 0]);
    for (let b = 0; b < B; b++)
      assert.is(got[b], pickRow(logits.subarray(b * V, (b + 1) * V), p, histories[b], 1 + b, 0), `row ${b}, ${JSON.stringify(p)}`);
  }
  // A row's draw depends on its seed and offset only, not on the other rows.
  const p = { ...base, temperature: 1, repetitionPenalty: 1 };
  const all = await pickTokens(t, p, null, [9, 9, 9, 9], [5, 5, 5, 5]);
  for (let b = 0; b < B; b++) {
    const alone = Tensor.from(logits.subarray(b * V, (b + 1) * V), [1, V]);
    assert.is((await pickTokens(alone, p, null, [9], [5]))[0], all[b], `row ${b} alone`);
    alone.dispose();
  }
  t.dispose();
});

text.run();

const gen = suite('generate');

/** Greedy continuation by full recompute, with decode.ts's sliding rule (restart from the last ⌊block/2⌋ tokens when full). */
async function greedyReference(m: GPT, prompt: number[], n: number): Promise<{ ids: number[]; logits: Float32Array[] }> {
  const block = m.config.blockSize, keep = Math.floor(block / 2);
  const seq = prompt.slice();
  let start = 0;
  const ids: number[] = [], logits: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && seq.length - start > block) start = seq.length - keep;
    const window = seq.slice(start);
    const l = scope(() => noGrad(() => m.logitsLast(Tensor.from(Int32Array.from(window), [1, window.length], { dtype: 'i32' })))).toArraySync() as Float32Array;
    let best = 0;
    for (let v = 1; v < l.length; v++) if (l[v] > l[best]) best = v;
    ids.push(best);
    logits.push(l);
    seq.push(best);
  }
  return { ids, logits };
}

/** Greedy ids equal the reference's, or differ first at a near tie of the reference logits. */
function assertGreedy(got: number[], ref: { ids: number[]; logits: Float32Array[] }, what: string): void {
  for (let i = 0; i < got.length; i++) {
    if (got[i] === ref.ids[i]) continue;
    const l = ref.logits[i];
    assert.ok(Math.abs(l[got[i]] - l[ref.ids[i]]) < 1e-4, `${what}: token ${i} is ${got[i]}, the reference's ${ref.ids[i]} (logits ${l[got[i]]} vs ${l[ref.ids[i]]})`);
    return;
  }
}

gen('greedy decoding equals a full recompute, within and past blockSize, for every positional kind', async () => {
  for (const positional of ['learned', 'sinusoidal', 'rope'] as const) {
    const m = model({ positional, blockSize: 16 });
    const prompt = 'the quick';
    const [res] = await generateBatch(m, tok, [prompt], { temperature: 0, maxTokens: 40, stopOnEos: false });
    assert.is(res.tokens.length, 40);
    assert.is(res.finishReason, 'length');
    assert.is(res.text, tok.decode(res.tokens));
    assertGreedy(res.tokens, await greedyReference(m, Array.from(tok.encode(prompt)), 40), positional);
    m.dispose();
  }
});

gen('same seed, same text; streamed pieces concatenate to generateText; batched prompts equal each alone', async () => {
  const m = model();
  const opts = { temperature: 0.9, topK: 20, topP: 0.95, repetitionPenalty: 1.2, seed: 7, maxTokens: 30, stopOnEos: false };
  const a = await generateText(m, tok, 'the lazy', opts);
  const b = await generateText(m, tok, 'the lazy', opts);
  assert.is(a, b, 'same seed');
  const streamed = await pieces(generate(m, tok, 'the lazy', opts));
  assert.ok(streamed.length > 1, 'several pieces');
  assert.is(streamed.join(''), a);
  const seeds = new Set<string>();
  for (let s = 0; s < 6; s++) seeds.add(await generateText(m, tok, 'the lazy', { ...opts, seed: s }));
  assert.ok(seeds.size > 1, 'the seed matters');
  const prompts = ['the', 'over the lazy dog. ', 'T', 'quick brown fox jumps'];
  for (const o of [{ ...opts, temperature: 0 }, opts]) {
    const batch = await generateBatch(m, tok, prompts, o);
    for (let i = 0; i < prompts.length; i++) assert.is(batch[i].text, await generateText(m, tok, prompts[i], o), `row ${i}, temperature ${o.temperature}`);
  }
  m.dispose();
});

gen('stop strings across token boundaries, and the end-of-text token', async () => {
  const m = model();
  const base = { temperature: 0, maxTokens: 40, stopOnEos: false };
  const full = await generateText(m, tok, 'fox ', base);
  const stop = full.slice(12, 15);  // three ASCII characters, so at least three tokens: the match spans boundaries
  const at = full.indexOf(stop);
  const [res] = await generateBatch(m, tok, ['fox '], { ...base, stop: ['@@never', stop] });
  assert.is(res.text, full.slice(0, at));
  assert.is(res.finishReason, 'stop');
  const fullIds = (await generateBatch(m, tok, ['fox '], base))[0].tokens;
  assert.equal(res.tokens, fullIds.slice(0, res.tokens.length), 'the same tokens, cut');
  assert.ok(tok.decode(res.tokens).includes(stop) && res.tokens.length < fullIds.length, 'stops once the match is complete');
  assert.is((await pieces(generate(m, tok, 'fox ', { ...base, stop }))).join(''), full.slice(0, at));
  // A tokenizer whose end-of-text is the 6th greedy token: generation ends there, without its text.
  const ids = (await generateBatch(m, tok, ['fox '], base))[0].tokens;
  const eosId = ids[5];
  const withEos = Object.assign(Object.create(tok) as Tokenizer, { specialId: (name: string) => (name === 'eos' ? eosId : undefined) });
  const first = ids.indexOf(eosId);
  const [e] = await generateBatch(m, withEos, ['fox '], { temperature: 0, maxTokens: 40 });
  assert.is(e.finishReason, 'eos');
  assert.is(e.text, tok.decode(ids.slice(0, first)));
  assert.equal(e.tokens, ids.slice(0, first));
  assert.is((await generateBatch(m, withEos, ['fox '], { ...base }))[0].text, full, 'stopOnEos: false ignores it');
  m.dispose();
});

gen('a prompt longer than the context keeps its last blockSize - 1 tokens, with a warning', async () => {
  const m = model({ blockSize: 16 });
  const long = 'the quick brown fox jumps over the lazy dog';
  const warnings: string[] = [];
  const got = await generateText(m, tok, long, { temperature: 0, maxTokens: 10, stopOnEos: false, onWarning: (w) => warnings.push(w) });
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /prompt has 43 tokens.*keeping its last 15 tokens/);
  assert.is(got, await generateText(m, tok, long.slice(-15), { temperature: 0, maxTokens: 10, stopOnEos: false, onWarning: () => assert.unreachable('no warning') }));
  m.dispose();
});

gen('a short request allocates a cache for its prompt and maxTokens, not for the whole context', async () => {
  const m = model({ blockSize: 256 });  // a full cache: 2 layers x k, v x 2 heads x 256 x 16 floats = 64 KiB
  await generateText(m, tok, 'the', { maxTokens: 3 });  // the model's own lazily made buffers, first
  const grown = async (maxTokens: number) => {
    const before = await settledAllocated('cpu');
    for await (const piece of generate(m, tok, 'the', { maxTokens, stopOnEos: false, temperature: 0 })) {
      assert.ok(piece.length > 0);
      return (await settledAllocated('cpu')) - before;  // mid-generation: the cache is live
    }
    throw new Error('no piece');
  };
  const short = await grown(5), long = await grown(400);
  // 3 + 5 - 1 = 7 positions (1.8 KB) against 256 (64 KiB).
  assert.ok(long - short >= 60000, `the short request holds ${short} bytes, the long one ${long}`);
  m.dispose();
});

gen('abort ends the iteration with an AbortError and frees the cache', async () => {
  const m = model();
  synchronize('cpu');
  const before = memory('cpu').allocated;
  const controller = new AbortController();
  let n = 0;
  await assertThrows(async () => {
    for await (const p of generate(m, tok, 'the', { maxTokens: 200, stopOnEos: false, signal: controller.signal })) {
      assert.ok(p.length > 0);
      if (++n === 3) controller.abort();
    }
  }, 'aborted');
  assert.is(n, 3, 'no piece after the abort');
  const after = await settledAllocated('cpu');  // garbage not yet finalized would read as a leak
  assert.ok(after - before <= 512, `the cache is freed (${after - before} bytes left)`);
  controller.abort();
  await assertThrows(() => generateText(m, tok, 'the', { signal: controller.signal }), 'aborted');
  m.dispose();
});

gen('the event loop keeps ticking during a long generation', async () => {
  const m = model({ nLayer: 4, nEmbd: 128, nHead: 4, blockSize: 256 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  // Generations back to back until there is enough time to count ticks in (one took 70-150 ms).
  let ms = 0;
  for (let runs = 0; ms < 200 && runs < 50; runs++) {
    const [out] = await generateBatch(m, tok, ['the quick'], { maxTokens: 240, stopOnEos: false, seed: 3 + runs });
    assert.is(out.tokens.length, 240);
    ms = performance.now() - t0;
  }
  clearInterval(timer);
  assert.ok(ms > 100, `the generation is long enough to measure (${ms.toFixed(0)} ms)`);
  // A blocked loop would tick about once; a free one about ms / 5 times (timers are coarse: ask for a third).
  assert.ok(ticks >= ms / 15, `${ticks} ticks of 5 ms in ${ms.toFixed(0)} ms`);
  m.dispose();
});

gen('bad input', async () => {
  const m = model();
  await assertThrows(() => generate(m, tok, ''), 'generate', 'prompt', 'non-empty string', 'empty string');
  await assertThrows(() => generate(m, tok, 5 as never), 'generate', 'prompt', 'got 5');
  await assertThrows(() => generate(m, tok, 'a', { topP: 0 }), 'opts.topP', '(0, 1]', 'got 0');
  await assertThrows(() => generate(m, tok, 'a', { topP: 1.5 }), 'opts.topP', '1.5');
  await assertThrows(() => generate(m, tok, 'a', { temperature: -1 }), 'opts.temperature', '>= 0', '-1');
  await assertThrows(() => generate(m, tok, 'a', { stop: 5 as never }), 'opts.stop', 'a string or an array of strings', 'got 5');
  await assertThrows(() => generate(m, tok, 'a', { stop: ['x', 3] as never }), 'opts.stop');
  await assertThrows(() => generate(m, tok, 'a', { stop: [''] }), 'opts.stop[0]', 'non-empty');
  await assertThrows(() => generate(m, tok, 'a', { maxTokens: 0 }), 'opts.maxTokens', 'integer >= 1', 'got 0');
  await assertThrows(() => generate(m, tok, 'a', { maxTokens: 2.5 }), 'opts.maxTokens');
  await assertThrows(() => generate(m, tok, 'a', { topk: 3 } as never), 'opts.topk', 'unknown option');
  await assertThrows(() => generate({} as never, tok, 'a'), 'generate', 'model', 'a GPT');
  await assertThrows(() => generateBatch(m, tok, []), 'generateBatch', 'prompts', 'non-empty array');
  await assertThrows(() => generateBatch(m, tok, ['a', '']), 'prompts[1]');
  m.dispose();
});
gen.run();

const bias = suite('logit bias');

/** How often each id occurs in `ids`, most frequent first. */
function byCount(ids: readonly number[]): number[] {
  const n = new Map<number, number>();
  for (const id of ids) n.set(id, (n.get(id) ?? 0) + 1);
  return [...n.keys()].sort((a, b) => n.get(b)! - n.get(a)! || a - b);
}

bias('banned tokens never come, over every row and hundreds of draws (-100, -Infinity, object and Map)', async () => {
  const m = model();
  const prompts = ['the', 'over the lazy dog. ', 'T', 'quick brown fox jumps'];
  const opts = { temperature: 1.3, seed: 5, maxTokens: 80, stopOnEos: false };
  const free = (await generateBatch(m, tok, prompts, opts)).flatMap((r) => r.tokens);
  // The five tokens the unbiased model draws most: a ban that did nothing would let them through.
  const top = byCount(free).slice(0, 5);
  assert.ok(top.every((id) => free.includes(id)));
  const record: Record<number, number> = { [top[0]]: -100, [top[1]]: -Infinity, [top[2]]: -1e4, [top[3]]: -100.5, [top[4]]: -Infinity };
  const banned = await generateBatch(m, tok, prompts, { ...opts, logitBias: record });
  const got = banned.flatMap((r) => r.tokens);
  assert.is(got.length, prompts.length * 80);
  for (const id of top) assert.not.ok(got.includes(id), `banned id ${id} was drawn`);
  // A Map, with repetition penalties on (they act after the bias and must not revive a ban).
  const map = new Map(top.map((id) => [id, -Infinity] as [number, number]));
  const [one] = await generateBatch(m, tok, ['the lazy'], { ...opts, maxTokens: 120, repetitionPenalty: 1.5, presencePenalty: 1, logitBias: map });
  assert.is(one.tokens.length, 120);
  for (const id of top) assert.not.ok(one.tokens.includes(id), `banned id ${id} was drawn (Map, penalties)`);
  // A zero bias is no bias: the same text as without.
  assert.is(await generateText(m, tok, 'the', { ...opts, logitBias: { [top[0]]: 0 } }), await generateText(m, tok, 'the', opts));
  m.dispose();
});

bias('a large positive bias makes greedy decoding pick that token; a small one shifts but keeps the rest', async () => {
  const m = model();
  const base = { temperature: 0, maxTokens: 20, stopOnEos: false };
  const free = (await generateBatch(m, tok, ['fox '], base))[0].tokens;
  // The weights are drawn afresh each run, so the forced character is one the unbiased greedy text
  // does not already use (a fixed 'x' was in it about once in 20 runs).
  const ch = [...'xzqjkvw'].find((c) => !free.includes(tok.encode(c)[0]));
  assert.ok(ch !== undefined, `a candidate character is not greedy here already (${free})`);
  const x = tok.encode(ch!)[0];
  const [forced] = await generateBatch(m, tok, ['fox ', 'the'], { ...base, logitBias: { [x]: 1000 } });
  assert.equal(forced.tokens, new Array(20).fill(x));
  const streamed = await pieces(generate(m, tok, 'fox ', { ...base, logitBias: new Map([[x, 1000]]) }));
  assert.is(streamed.join(''), ch!.repeat(20));
  m.dispose();
});

bias('the bias tensor is what sampleLogits adds; the first greedy token is its argmax', async () => {
  const m = model();
  const V = m.config.vocabSize;
  const raw = { 7: 2.5, 30: -100, 31: -Infinity, 40: -0.75, 308: 3 };
  const entries = resolveLogitBias('test', raw, V)!;
  assert.equal([...entries], [[7, 2.5], [30, -Infinity], [31, -Infinity], [40, -0.75], [308, 3]]);
  const prompt = Array.from(tok.encode('the quick'));
  const logits = scope(() => noGrad(() => m.logitsLast(Tensor.from(Int32Array.from(prompt), [1, prompt.length], { dtype: 'i32' }))));
  const lb = logitBiasTensor(entries, V, m.device);
  const plain = logits.toArraySync() as Float32Array;
  const seen = await scope(() => sampleLogits(logits.reshape([1, V]), { logitBias: lb, seed: 0 })).toArray() as Float32Array;
  for (let v = 0; v < V; v++) {
    const want = Math.fround(plain[v] + (entries.get(v) ?? 0));
    assert.is(seen[v], want, `id ${v}`);  // one f32 addition, exact
  }
  let best = 0;
  for (let v = 1; v < V; v++) if (seen[v] > seen[best]) best = v;
  const [first] = (await generateBatch(m, tok, ['the quick'], { temperature: 0, maxTokens: 1, stopOnEos: false, logitBias: raw }))[0].tokens;
  // The cached forward's logits can differ from logitsLast's in the last bits: equal, or a near tie.
  assert.ok(first === best || Math.abs(seen[first] - seen[best]) < 1e-4, `first token ${first}, argmax ${best}`);
  lb.dispose();
  logits.dispose();
  m.dispose();
});

bias('the TypeScript stand-in applies the bias as the native op does and never draws a ban', async () => {
  const r = rng();
  const V = 40, B = 3;
  const logits = r.normals(B * V);
  const t = Tensor.from(logits, [B, V]);
  const dense = new Float32Array(V);
  // Ban each row's argmax, boost one token a little.
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[b * V + v] > logits[b * V + best]) best = v;
    dense[best] = -Infinity;
  }
  dense[3] += 0.5;
  const lb = Tensor.from(dense, [V]);
  const p = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0 };
  const got = await pickTokens(t, p, null, [1, 2, 3], [0, 0, 0], lb);
  for (let b = 0; b < B; b++) {
    const row = logits.subarray(b * V, (b + 1) * V);
    assert.is(got[b], pickRow(row, p, null, 1 + b, 0, dense), `row ${b}`);
    assert.is.not(dense[got[b]], -Infinity);
  }
  // Sampled, flat (temperature 50) so that every allowed token is likely and rounding edges are hit.
  for (let offset = 0; offset < 300; offset++) {
    const id = pickRow(logits.subarray(0, V), { ...p, temperature: 50, topP: 0.999 }, null, 4, offset, dense);
    assert.is.not(dense[id], -Infinity, `offset ${offset}`);
  }
  lb.dispose();
  t.dispose();
});

bias('the bias tensor is freed however the generation ends', async () => {
  const m = model();
  const before = await settledAllocated('cpu');
  await generateText(m, tok, 'the', { maxTokens: 5, logitBias: { 3: 1 } });
  const controller = new AbortController();
  let n = 0;
  await assertThrows(async () => {
    for await (const piece of generate(m, tok, 'the', { maxTokens: 200, stopOnEos: false, signal: controller.signal, logitBias: { 3: -100 } })) {
      assert.ok(piece.length > 0);
      if (++n === 2) controller.abort();
    }
  }, 'aborted');
  const after = await settledAllocated('cpu');
  assert.ok(after - before <= 512, `freed (${after - before} bytes left; 512 allows the allocator's rounding)`);
  m.dispose();
});

bias('bad logitBias input names logitBias[<id>]', async () => {
  const m = model();
  const V = m.config.vocabSize;
  await assertThrows(() => generate(m, tok, 'a', { logitBias: { [V]: 1 } }), 'generate', `'opts.logitBias[${V}]'`, `[0, ${V})`, `id "${V}"`);
  await assertThrows(() => generate(m, tok, 'a', { logitBias: { '-1': 1 } as never }), `'opts.logitBias[-1]'`, 'token id');
  await assertThrows(() => generate(m, tok, 'a', { logitBias: { '1.5': 1 } as never }), `'opts.logitBias[1.5]'`);
  await assertThrows(() => generate(m, tok, 'a', { logitBias: { abc: 1 } as never }), `'opts.logitBias[abc]'`);
  await assertThrows(() => generate(m, tok, 'a', { logitBias: new Map([[2.5, 1]]) }), `'opts.logitBias[2.5]'`, 'got id 2.5');
  await assertThrows(() => generateText(m, tok, 'a', { logitBias: { 3: NaN } }), `'opts.logitBias[3]'`, 'finite number', 'got NaN');
  await assertThrows(() => generateText(m, tok, 'a', { logitBias: { 3: Infinity } }), `'opts.logitBias[3]'`, 'got Infinity');
  await assertThrows(() => generateText(m, tok, 'a', { logitBias: { 3: 1e39 } }), `'opts.logitBias[3]'`, 'as f32');
  await assertThrows(() => generateText(m, tok, 'a', { logitBias: { 3: '1' } as never }), `'opts.logitBias[3]'`, 'got "1"');
  await assertThrows(() => generateBatch(m, tok, ['a'], { logitBias: [1, 2] as never }), 'generateBatch', `'opts.logitBias'`, 'an array of length 2');
  await assertThrows(() => generateBatch(m, tok, ['a'], { logitBias: null as never }), `'opts.logitBias'`, 'got null');
  const all = Object.fromEntries(Array.from({ length: V }, (_, i) => [i, -100]));
  await assertThrows(() => generateText(m, tok, 'a', { logitBias: all }), `'opts.logitBias'`, 'not banned', `all ${V} ids banned`);
  m.dispose();
});

bias.run();
