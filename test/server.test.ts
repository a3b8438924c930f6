/**
 * examples/server.ts in-process, over loopback, against a tiny run trained here (15 steps): concurrent
 * SSE streams each equal generateText with the same options and seed, the queue (maxConcurrent 1)
 * serialises without changing the texts, logit_bias (OpenAI's shape) bans and biases as the library's
 * logitBias does, bad requests get 400 naming the field, a client that
 * disconnects aborts its generation and frees its cache, and close() aborts what is in flight.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { createServer, GenerationEnd, GenerationServer, parseGenerateBody } from '../examples/server';
import { generateBatch, generateText, GenerateOptions } from '../lib/generate';
import { memory, synchronize } from '../lib/index';
import type { GPT } from '../lib/models/gpt';
import type { Tokenizer } from '../lib/tokenizer';
import { loadRunModel } from '../lib/train/evaluate';
import { train } from '../lib/train/run';
import { runPath } from '../lib/train/runDir';
import { loadRunTokenizer } from '../lib/train/tokenizerSetup';
import { settledAllocated } from './helpers/memory';

const test = suite('examples/server (SSE over loopback)');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-server-'));
const corpus = path.join(tmp, 'corpus.txt');
const dir = path.join(tmp, 'run');
fs.writeFileSync(corpus, Array.from({ length: 300 }, (_, i) => `line ${i % 17} of a small corpus, with words ${(i * 7) % 13}.`).join('\n'));

let model: GPT;
let tokenizer: Tokenizer;
let app: GenerationServer;
let port = 0;
/** Every generation end the server reported, and the waiters for the next ones. */
const ends: GenerationEnd[] = [];
let endWaiters: (() => void)[] = [];

function onGenerationEnd(e: GenerationEnd): void {
  ends.push(e);
  const w = endWaiters;
  endWaiters = [];
  for (const f of w) f();
}

/** Rejects after `ms` (every wait in this file is bounded). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves when the server has reported `count` generation ends in all. */
function endsReach(count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (ends.length >= count) resolve();
      else endWaiters.push(check);
    };
    check();
  });
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to the server under test (no agent: no pooled sockets outlive a test). */
function request(method: string, pathname: string, body?: string, at = port): Promise<Reply> {
  return within(new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: at, method, path: pathname, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  }), 8000, `${method} ${pathname}`);
}

interface SseEvent {
  event: string;
  data: unknown;
}

/** Parses a whole text/event-stream body (comments skipped). */
function parseSse(body: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of body.split('\n\n')) {
    if (block.trim() === '') continue;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length) out.push({ event, data: JSON.parse(data.join('\n')) });
  }
  return out;
}

/** The concatenated text and the done event of a stream; asserts the stream's shape. */
function streamed(reply: Reply): { text: string; done: { finishReason: string; tokens: number } } {
  assert.is(reply.status, 200, reply.body);
  assert.match(String(reply.headers['content-type']), /^text\/event-stream/);
  const events = parseSse(reply.body);
  const last = events[events.length - 1];
  assert.is(last.event, 'done', `the stream ends with event: done (${reply.body.slice(-200)})`);
  const pieces = events.slice(0, -1);
  assert.ok(pieces.every((e) => e.event === 'message' && typeof (e.data as { text: unknown }).text === 'string'));
  return { text: pieces.map((e) => (e.data as { text: string }).text).join(''), done: last.data as { finishReason: string; tokens: number } };
}

/** The library's answer for a request body: the text of generateText, the finish of generateBatch. */
async function direct(prompt: string, options: GenerateOptions): Promise<{ text: string; finishReason: string; tokens: number }> {
  const text = await generateText(model, tokenizer, prompt, options);
  const [r] = await generateBatch(model, tokenizer, [prompt], options);
  assert.is(r.text, text);
  return { text, finishReason: r.finishReason, tokens: r.tokens.length };
}

test.before(async () => {
  await train({
    out: dir, files: [corpus], model: { nLayer: 1, nEmbd: 32, nHead: 2, blockSize: 32 },
    train: { steps: 15, batchSize: 4, evalInterval: 15, evalIters: 1, sampleTokens: 0, warmupSteps: 2 },
  });
  model = loadRunModel(dir, 'cpu').model;
  tokenizer = loadRunTokenizer(runPath(dir, 'tokenizer'));
  app = createServer(model, tokenizer, { onGenerationEnd });
  const addr = await app.listen(0);
  assert.is(addr.address, '127.0.0.1');
  assert.ok(addr.port > 0);
  port = addr.port;
});

test.after(() => {
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('GET /health answers ok; unknown routes and methods are refused', async () => {
  const h = await request('GET', '/health');
  assert.is(h.status, 200);
  const body = JSON.parse(h.body);
  assert.is(body.status, 'ok');
  assert.is(body.model.blockSize, 32);
  assert.is(body.vocabSize, tokenizer.vocabSize);
  assert.is((await request('GET', '/nothing')).status, 404);
  const wrong = await request('GET', '/generate');
  assert.is(wrong.status, 405);
  assert.is(wrong.headers.allow, 'POST');
});

test('3 concurrent streams with different seeds each equal generateText', async () => {
  const bodies = [1, 2, 3].map((seed) => ({ prompt: `line ${seed} of`, maxTokens: 100, temperature: 0.9, topK: 20, topP: 0.95, seed, stop: ['@@'], stopOnEos: false }));
  const before = app.stats.started;
  const replies = await Promise.all(bodies.map((b) => request('POST', '/generate', JSON.stringify(b))));
  assert.ok(app.stats.maxActive >= 2, `the requests overlapped (at most ${app.stats.maxActive} at once)`);
  assert.is(app.stats.started - before, 3);
  const texts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { prompt, ...options } = bodies[i];
    const got = streamed(replies[i]);
    const want = await direct(prompt, options);
    assert.ok(want.text.length > 0);
    assert.is(got.text, want.text, `seed ${options.seed}`);
    assert.equal(got.done, { finishReason: want.finishReason, tokens: want.tokens });
    texts.push(got.text);
  }
  assert.ok(new Set(texts).size > 1, 'different seeds give different texts');
  assert.is(app.stats.active, 0);
});

test('with maxConcurrent 1 requests queue and still give the same texts', async () => {
  const queued = createServer(model, tokenizer, { maxConcurrent: 1 });
  const at = (await queued.listen(0)).port;
  try {
    const bodies = [4, 5].map((seed) => ({ prompt: 'with words', maxTokens: 24, seed, stopOnEos: false }));
    const replies = await Promise.all(bodies.map((b) => request('POST', '/generate', JSON.stringify(b), at)));
    assert.is(queued.stats.maxActive, 1);
    assert.is(queued.stats.completed, 2);
    assert.ok(replies.some((r) => r.body.startsWith(': queued')), 'one request waited for the slot');
    for (let i = 0; i < 2; i++) {
      const { prompt, ...options } = bodies[i];
      const got = streamed(replies[i]);
      assert.is(got.text, (await direct(prompt, options)).text);
      assert.equal(got.done, { finishReason: 'length', tokens: 24 });
    }
  } finally {
    await within(queued.close(), 3000, 'the queued server to close');
  }
});

test('bad requests get 400 naming the field, the expected and the actual value', async () => {
  const cases: [string, string, RegExp, string][] = [
    [JSON.stringify({ prompt: 'line', topP: 2 }), 'topP', /\(0, 1\]/, '2'],
    [JSON.stringify({ maxTokens: 5 }), 'prompt', /non-empty string/, 'undefined'],
    [JSON.stringify({ prompt: '' }), 'prompt', /non-empty string/, 'an empty string'],
    [JSON.stringify({ prompt: 'x', maxTokens: 1.5 }), 'maxTokens', /integer in \[1, 1024\]/, '1.5'],
    [JSON.stringify({ prompt: 'x', maxTokens: 5000 }), 'maxTokens', /integer in \[1, 1024\]/, '5000'],
    [JSON.stringify({ prompt: 'x', seed: -1 }), 'seed', /non-negative/, '-1'],
    [JSON.stringify({ prompt: 'x', stop: [''] }), 'stop[0]', /non-empty string/, 'an empty string'],
    [JSON.stringify({ prompt: 'x', temprature: 1 }), 'temprature', /one of the fields/, 'unknown field "temprature"'],
    [JSON.stringify({ prompt: 'x', logit_bias: [1] }), 'logit_bias', /object of token ids/, 'an array of length 1'],
    [JSON.stringify({ prompt: 'x', logit_bias: { abc: 1 } }), 'logit_bias[abc]', /decimal integer/, 'id "abc"'],
    [JSON.stringify({ prompt: 'x', logit_bias: { 99999: 1 } }), 'logit_bias[99999]', /token id/, 'id "99999"'],
    [JSON.stringify({ prompt: 'x', logit_bias: { 5: 101 } }), 'logit_bias[5]', /\[-100, 100\]/, '101'],
    [JSON.stringify({ prompt: 'x', logit_bias: { 5: '1' } }), 'logit_bias[5]', /\[-100, 100\]/, '"1"'],
    [JSON.stringify([1]), 'body', /JSON object/, 'an array of length 1'],
    ['{"prompt": ', 'body', /valid JSON/, ''],
  ];
  const rejected = app.stats.rejected;
  const started = app.stats.started;
  for (const [body, field, expected, actual] of cases) {
    const r = await request('POST', '/generate', body);
    assert.is(r.status, 400, body);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const e = JSON.parse(r.body);
    assert.is(e.field, field, body);
    assert.match(e.expected, expected);
    if (actual) assert.is(e.actual, actual);
    assert.match(e.error, new RegExp(`POST /generate: argument '${field.replace(/[[\]]/g, '\\$&')}'`));
  }
  assert.is(app.stats.rejected - rejected, cases.length);
  assert.is(app.stats.started, started, 'no generation started for a bad request');
});

test('logit_bias: -100 bans, a large bias forces, as the library\'s logitBias; parseGenerateBody maps it', async () => {
  const base = { prompt: 'line 2 of', maxTokens: 40, temperature: 0.8, seed: 3, stopOnEos: false };
  const free = await generateBatch(model, tokenizer, [base.prompt], { maxTokens: 40, temperature: 0.8, seed: 3, stopOnEos: false });
  const common = [...new Set(free[0].tokens)].slice(0, 3);
  assert.ok(common.length > 0);
  const logit_bias = Object.fromEntries(common.map((id) => [String(id), -100]));
  const got = streamed(await request('POST', '/generate', JSON.stringify({ ...base, logit_bias })));
  const { prompt, ...options } = base;
  const logitBias = new Map(common.map((id) => [id, -100] as [number, number]));
  const [want] = await generateBatch(model, tokenizer, [prompt], { ...options, logitBias });
  assert.is(got.text, want.text);
  assert.equal(got.done, { finishReason: want.finishReason, tokens: want.tokens.length });
  for (const id of common) assert.not.ok(want.tokens.includes(id), `banned id ${id}`);
  assert.is.not(got.text, free[0].text, 'the bias changed the text');
  const forced = common[0];
  const one = streamed(await request('POST', '/generate', JSON.stringify({ prompt: 'line', maxTokens: 6, temperature: 0, stopOnEos: false, logit_bias: { [forced]: 100 } })));
  assert.is(one.text, tokenizer.decode(new Array(6).fill(forced)));
  const parsed = parseGenerateBody({ prompt: 'x', logit_bias: { 7: 2.5, 0: -100, 3: 0 } }, 1024, 10);
  assert.equal([...(parsed.options.logitBias as Map<number, number>)], [[0, -100], [3, 0], [7, 2.5]]);
  assert.is(parseGenerateBody({ prompt: 'x', logit_bias: {} }).options.logitBias, undefined);
  assert.throws(() => parseGenerateBody({ prompt: 'x', logit_bias: { 0: -100, 1: -100 } }, 1024, 2), /logit_bias.*all 2 ids banned/);
});

test('a client that disconnects mid-stream aborts its generation and frees its cache', async () => {
  synchronize('cpu');
  const allocated = memory('cpu').allocated;
  const endsBefore = ends.length;
  const abortedBefore = app.stats.aborted;
  let pieces = 0;
  await within(new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/generate', agent: false }, (res) => {
      assert.is(res.statusCode, 200);
      res.on('data', (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('data: ')) pieces++;
        if (pieces === 1) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (pieces === 0) reject(err);
    });
    req.end(JSON.stringify({ prompt: 'line 5', maxTokens: 1000, stopOnEos: false, seed: 9 }));
  }), 8000, 'the first piece');
  await within(endsReach(endsBefore + 1), 5000, 'the server to end the abandoned generation');
  const end = ends[endsBefore];
  assert.is(end.outcome, 'aborted');
  assert.ok(end.pieces < 1000, `it stopped early (${end.pieces} pieces)`);
  assert.is(app.stats.aborted - abortedBefore, 1);
  assert.is(app.stats.active, 0);
  // The generation's KV cache and logits are freed; 512 bytes allows the allocator's rounding.
  const after = await settledAllocated('cpu');  // garbage not yet finalized would read as a leak
  assert.ok(after - allocated <= 512, `the cache is freed (${after - allocated} bytes left)`);
  const next = streamed(await request('POST', '/generate', JSON.stringify({ prompt: 'line 5', maxTokens: 16, seed: 9 })));
  assert.is(next.text, (await direct('line 5', { maxTokens: 16, seed: 9 })).text, 'the server still answers');
});

test('close() aborts the generation in flight and closes the server', async () => {
  const endsBefore = ends.length;
  const reply = new Promise<string>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/generate', agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString('utf8');
        if (text.includes('data: ') && app.server.listening) void app.close().then(() => resolve(text));
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end(JSON.stringify({ prompt: 'line 7', maxTokens: 1000, stopOnEos: false }));
  });
  const text = await within(reply, 8000, 'close() to resolve');
  assert.not.match(text, /event: done/);
  await within(endsReach(endsBefore + 1), 5000, 'the generation to end');
  assert.is(ends[endsBefore].outcome, 'aborted');
  assert.is(app.server.listening, false);
  assert.is(app.stats.active, 0);
  const refused = await request('GET', '/health').then(() => 'answered', (err: NodeJS.ErrnoException) => err.code);
  assert.is(refused, 'ECONNREFUSED');
});

test.run();
