/**
 * Example: a trained run served over HTTP with node:http only. POST /generate streams the
 * continuation of a prompt as Server-Sent Events; GET /health says the server is up.
 *
 *   npx tsx examples/server.ts RUN_DIR          (or GLM_RUN_DIR=RUN_DIR; PORT=0 picks a free port;
 *                                                GLM_DEVICE=cuda to decode on the GPU)
 *   curl -N -d '{"prompt": "Hello", "maxTokens": 40, "seed": 1}' http://127.0.0.1:PORT/generate
 *
 * Body fields: prompt, maxTokens, temperature, topK, topP, seed, stop, stopOnEos, and `logit_bias`
 * as in OpenAI's API: an object of token ids (decimal strings) to biases in [-100, 100] added to
 * those tokens' logits, -100 banning the token, e.g. `"logit_bias": {"50256": -100, "11": 5}`.
 *
 * Events: `data: {"text": "..."}` per piece (pieces concatenate to what generateText gives for the
 * same options), then `event: done` with `{"finishReason": "stop" | "eos" | "length", "tokens": n}`,
 * or `event: error` with `{"error": "..."}` if the generation fails after the stream has begun.
 *
 * Concurrency: each request is its own generateBatch call, which owns its KV cache, so requests never
 * share decoding state; their token steps interleave on the event loop (every token is one awaited
 * device read). At most `maxConcurrent` generate at once (bounding cache memory); later requests
 * wait in a FIFO queue of at most `maxQueue` (their stream opens with a `: queued` comment), and
 * past that get 503. A client that disconnects aborts its generation (AbortController), which frees
 * its cache; a queued client that disconnects just leaves the queue.
 *
 * Pieces are written as they come without waiting for 'drain': what a slow client can make the
 * server buffer is bounded by maxTokens (capped by `maxTokensLimit`).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { argError, describe, GlmError } from '../lib/errors';
import { generateBatch, GenerateOptions, FinishReason } from '../lib/generate';
import type { GPT } from '../lib/models/gpt';
import type { Tokenizer } from '../lib/tokenizer';
import { loadRunModel } from '../lib/train/evaluate';
import { runPath } from '../lib/train/runDir';
import { loadRunTokenizer } from '../lib/train/tokenizerSetup';

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Generations running at once (each holds a KV cache); default 4. */
  maxConcurrent?: number;
  /** Requests waiting for a slot beyond those; more get 503. Default 16. */
  maxQueue?: number;
  /** The largest maxTokens a request may ask for; default 1024. */
  maxTokensLimit?: number;
  /** The largest request body in bytes; default 64 KiB. */
  maxBodyBytes?: number;
  /** Called when a generation ends, however it ends (tests wait on it; a server may log it). */
  onGenerationEnd?: (info: GenerationEnd) => void;
}

/** How one generation ended, as told to {@link ServerOptions.onGenerationEnd}. */
export interface GenerationEnd {
  /** The request's number (1, 2, ... in arrival order of valid requests). */
  id: number;
  /** 'done': finished and streamed; 'aborted': the client went away (or the server closed); 'error': it failed. */
  outcome: 'done' | 'aborted' | 'error';
  finishReason?: FinishReason;
  /** Text pieces written to the stream. */
  pieces: number;
  error?: string;
}

/** Counters of a running server (live object: read it at any time). */
export interface ServerStats {
  /** Generations started (given a slot). */
  started: number;
  completed: number;
  aborted: number;
  failed: number;
  /** Generating now. */
  active: number;
  /** Waiting for a slot now. */
  queued: number;
  /** The most generations that ran at once so far. */
  maxActive: number;
  /** Requests answered 400 / 404 / 405 / 413 / 503. */
  rejected: number;
}

/** A server made by {@link createServer}, not yet listening. */
export interface GenerationServer {
  readonly server: http.Server;
  readonly stats: ServerStats;
  /** Listens on 127.0.0.1:`port` (0: a free port); resolves to the address. */
  listen(port: number): Promise<AddressInfo>;
  /** Aborts every generation, drops the queue, closes all connections; resolves when closed. */
  close(): Promise<void>;
}

/** A parsed, checked POST /generate body. */
export interface GenerateRequest {
  prompt: string;
  options: GenerateOptions;
}

const OP = 'POST /generate';
const FIELDS = ['prompt', 'maxTokens', 'temperature', 'topK', 'topP', 'seed', 'stop', 'stopOnEos', 'logit_bias'];
/** OpenAI's bounds of a logit_bias value; -100 bans. */
const BIAS_LIMIT = 100;

/**
 * Checks a POST /generate body (already JSON-parsed); throws a GlmError naming the field, what was
 * expected and what came. Absent options keep the library's defaults (maxTokens: 256 here capped at
 * `maxTokensLimit`). `logit_bias` ids are checked against `vocabSize` (the model's logits).
 */
export function parseGenerateBody(body: unknown, maxTokensLimit = 1024, vocabSize = Number.MAX_SAFE_INTEGER): GenerateRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw argError(OP, 'body', 'a JSON object', describe(body));
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!FIELDS.includes(k)) throw argError(OP, k, `one of the fields ${FIELDS.join(', ')}`, `unknown field "${k}"`);
  if (typeof b.prompt !== 'string' || b.prompt.length === 0)
    throw argError(OP, 'prompt', 'a non-empty string', b.prompt === '' ? 'an empty string' : describe(b.prompt));
  const options: GenerateOptions = {};
  const num = (name: 'temperature' | 'topP', ok: (x: number) => boolean, expected: string): void => {
    const v = b[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw argError(OP, name, expected, describe(v));
    options[name] = v;
  };
  const int = (name: 'maxTokens' | 'topK' | 'seed', min: number, max: number, expected: string): void => {
    const v = b[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw argError(OP, name, expected, describe(v));
    options[name] = v;
  };
  int('maxTokens', 1, maxTokensLimit, `an integer in [1, ${maxTokensLimit}]`);
  if (options.maxTokens === undefined) options.maxTokens = Math.min(256, maxTokensLimit);
  num('temperature', (x) => x >= 0, 'a number >= 0 (0: greedy)');
  int('topK', 0, Number.MAX_SAFE_INTEGER, 'an integer >= 0 (0: off)');
  num('topP', (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  int('seed', 0, Number.MAX_SAFE_INTEGER, 'a non-negative safe integer');
  if (b.stop !== undefined) {
    const list = typeof b.stop === 'string' ? [b.stop] : b.stop;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw argError(OP, 'stop', 'a string or an array of strings', describe(b.stop));
    const empty = list.findIndex((s) => s === '');
    if (empty >= 0) throw argError(OP, `stop[${empty}]`, 'a non-empty string', 'an empty string');
    options.stop = list as string[];
  }
  if (b.stopOnEos !== undefined) {
    if (typeof b.stopOnEos !== 'boolean') throw argError(OP, 'stopOnEos', 'a boolean', describe(b.stopOnEos));
    options.stopOnEos = b.stopOnEos;
  }
  if (b.logit_bias !== undefined) {
    const lb = b.logit_bias;
    if (lb === null || typeof lb !== 'object' || Array.isArray(lb))
      throw argError(OP, 'logit_bias', 'an object of token ids to biases in [-100, 100]', describe(lb));
    const bias = new Map<number, number>();
    for (const [key, value] of Object.entries(lb as Record<string, unknown>)) {
      const field = `logit_bias[${key}]`;
      const id = /^(0|[1-9]\d*)$/.test(key) ? Number(key) : NaN;
      if (!(Number.isSafeInteger(id) && id < vocabSize))
        throw argError(OP, field, `a token id: a decimal integer in [0, ${vocabSize})`, `id ${describe(key)}`);
      if (typeof value !== 'number' || !Number.isFinite(value) || value < -BIAS_LIMIT || value > BIAS_LIMIT)
        throw argError(OP, field, `a number in [${-BIAS_LIMIT}, ${BIAS_LIMIT}] (-100 bans the token)`, describe(value));
      bias.set(id, value);
    }
    if ([...bias.values()].filter((v) => v <= -BIAS_LIMIT).length === vocabSize)
      throw argError(OP, 'logit_bias', 'at least one token not banned', `all ${vocabSize} ids banned`);
    if (bias.size) options.logitBias = bias;
  }
  return { prompt: b.prompt, options };
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** The 400 body of a GlmError: the message and, when it has them, the field, expected and actual. */
function errorBody(err: GlmError): Record<string, string> {
  const out: Record<string, string> = { error: err.message };
  if (err.argument !== undefined) out.field = err.argument;
  if (err.expected !== undefined) out.expected = err.expected;
  if (err.actual !== undefined) out.actual = err.actual;
  return out;
}

/**
 * The request body as text; 'too-large' (after answering 413) past `limit` bytes; 'gone' when the
 * client went away before sending all of it.
 */
function readBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<string | 'too-large' | 'gone'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        // Close the connection after answering: the rest of the body is not read.
        sendJson(res, 413, { error: `${OP}: the body is larger than ${limit} bytes` }, { connection: 'close' });
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    const gone = (): void => {
      if (settled) return;
      settled = true;
      resolve('gone');
    };
    req.on('error', gone);
    req.on('close', gone);
  });
}

function positiveInt(op: string, name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw argError(op, name, `an integer >= ${min}`, describe(v));
  return v;
}

/**
 * An HTTP server generating from `model` and `tokenizer` (see the file comment for the endpoints,
 * the events and how concurrent requests are handled). Call `listen` to start it.
 */
export function createServer(model: GPT, tokenizer: Tokenizer, opts: ServerOptions = {}): GenerationServer {
  const op = 'createServer';
  const maxConcurrent = positiveInt(op, 'opts.maxConcurrent', opts.maxConcurrent, 4, 1);
  const maxQueue = positiveInt(op, 'opts.maxQueue', opts.maxQueue, 16, 0);
  const maxTokensLimit = positiveInt(op, 'opts.maxTokensLimit', opts.maxTokensLimit, 1024, 1);
  const maxBodyBytes = positiveInt(op, 'opts.maxBodyBytes', opts.maxBodyBytes, 64 * 1024, 1);
  if (opts.onGenerationEnd !== undefined && typeof opts.onGenerationEnd !== 'function')
    throw argError(op, 'opts.onGenerationEnd', 'a function', describe(opts.onGenerationEnd));
  const stats: ServerStats = { started: 0, completed: 0, aborted: 0, failed: 0, active: 0, queued: 0, maxActive: 0, rejected: 0 };
  /** Requests waiting for a slot, oldest first: each is started by calling it. */
  const waiting: (() => void)[] = [];
  /** The controllers of queued and running generations, so close() can abort them. */
  const live = new Set<AbortController>();
  let nextId = 1;

  function reject(res: http.ServerResponse, status: number, body: Record<string, string>, headers?: http.OutgoingHttpHeaders): void {
    stats.rejected++;
    sendJson(res, status, body, headers);
  }

  /**
   * Resolves when this request holds a slot (counted in stats.active); rejects when `signal`
   * aborts while it waits. A freed slot passes straight to the oldest waiter, so a request arriving
   * in between cannot take it and push the count past maxConcurrent.
   */
  function acquire(signal: AbortSignal): Promise<void> {
    if (stats.active < maxConcurrent) {
      stats.active++;
      stats.maxActive = Math.max(stats.maxActive, stats.active);
      return Promise.resolve();
    }
    stats.queued++;
    return new Promise((resolve, rejectSlot) => {
      const start = (): void => {
        stats.queued--;
        signal.removeEventListener('abort', leave);
        resolve();
      };
      const leave = (): void => {
        const i = waiting.indexOf(start);
        if (i >= 0) waiting.splice(i, 1);
        stats.queued--;
        rejectSlot(signal.reason);
      };
      waiting.push(start);
      signal.addEventListener('abort', leave, { once: true });
    });
  }

  /** Frees a slot, after the generation's cache is freed (generateBatch has settled). */
  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else stats.active--;
  }

  async function handleGenerate(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = await readBody(req, res, maxBodyBytes);
    if (text === 'too-large') stats.rejected++;
    if (text === 'too-large' || text === 'gone') return;
    let parsed: GenerateRequest;
    try {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw argError(OP, 'body', 'valid JSON', `${describe(text)} (${(err as Error).message})`);
      }
      parsed = parseGenerateBody(body, maxTokensLimit, model.config.vocabSize);
    } catch (err) {
      if (err instanceof GlmError) return reject(res, 400, errorBody(err));
      throw err;
    }
    if (stats.active >= maxConcurrent && stats.queued >= maxQueue)
      return reject(res, 503, { error: `${OP}: busy (${stats.active} generating, ${stats.queued} queued); try again later` }, { 'retry-after': '1' });

    const id = nextId++;
    const controller = new AbortController();
    live.add(controller);
    // 'close' on the response before it finished: the client went away (or close() destroyed it).
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new DOMException(`request ${id}: the client disconnected`, 'AbortError'));
    });
    // A socket that closed before the listener was added emits no 'close' for it.
    if (req.socket.destroyed) controller.abort(new DOMException(`request ${id}: the client disconnected`, 'AbortError'));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    if (stats.active >= maxConcurrent) res.write(': queued\n\n');
    res.flushHeaders();

    const end: GenerationEnd = { id, outcome: 'done', pieces: 0 };
    let started = false;
    try {
      await acquire(controller.signal);
      started = true;
      stats.started++;
      const onPiece = (_row: number, piece: string): void => {
        end.pieces++;
        res.write(`data: ${JSON.stringify({ text: piece })}\n\n`);
      };
      const [result] = await generateBatch(model, tokenizer, [parsed.prompt], { ...parsed.options, signal: controller.signal }, onPiece);
      end.finishReason = result.finishReason;
      res.end(`event: done\ndata: ${JSON.stringify({ finishReason: result.finishReason, tokens: result.tokens.length })}\n\n`);
      stats.completed++;
    } catch (err) {
      if (controller.signal.aborted) {
        end.outcome = 'aborted';
        stats.aborted++;
      } else {
        end.outcome = 'error';
        end.error = err instanceof Error ? err.message : String(err);
        stats.failed++;
        res.end(`event: error\ndata: ${JSON.stringify({ error: end.error })}\n\n`);
      }
      if (!res.writableEnded) res.destroy();
    } finally {
      live.delete(controller);
      if (started) release();
      opts.onGenerationEnd?.(end);
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = (method: string, handle: () => void | Promise<void>): void => {
      if (req.method !== method) return reject(res, 405, { error: `${req.method} ${url.pathname}: expected method ${method}` }, { allow: method });
      Promise.resolve(handle()).catch((err: unknown) => {
        // A bug or an I/O failure before the stream began: answer 500 if still possible.
        if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
        else res.destroy();
      });
    };
    if (url.pathname === '/generate') return route('POST', () => handleGenerate(req, res));
    if (url.pathname === '/health')
      return route('GET', () => sendJson(res, 200, {
        status: 'ok', active: stats.active, queued: stats.queued,
        model: { ...model.config }, device: model.device, vocabSize: tokenizer.vocabSize,
      }));
    reject(res, 404, { error: `no route ${req.method} ${url.pathname}; the routes are POST /generate and GET /health` });
  });

  return {
    server,
    stats,
    listen(port: number): Promise<AddressInfo> {
      if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw argError('GenerationServer.listen', 'port', 'an integer in [0, 65535]', describe(port));
      return new Promise((resolve, rejectListen) => {
        server.once('error', rejectListen);
        // Loopback only: this example has no authentication.
        server.listen(port, '127.0.0.1', () => {
          server.off('error', rejectListen);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close(): Promise<void> {
      for (const c of live) c.abort(new DOMException('the server is closing', 'AbortError'));
      return new Promise((resolve, rejectClose) => {
        server.close((err) => (err ? rejectClose(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** Loads the run named by argv[2] or GLM_RUN_DIR and serves it on 127.0.0.1:PORT until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const dir = process.argv[2] ?? process.env.GLM_RUN_DIR;
  if (!dir) throw new GlmError('examples/server', 'no run directory: pass it as the first argument or set GLM_RUN_DIR');
  const portText = process.env.PORT ?? '0';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw argError('examples/server', 'PORT', 'an integer in [0, 65535] (0: a free port)', describe(portText));
  const full = path.resolve(dir);
  const { model } = loadRunModel(full, process.env.GLM_DEVICE ?? 'cpu');
  const tokenizer = loadRunTokenizer(runPath(full, 'tokenizer'));
  const app = createServer(model, tokenizer, {
    onGenerationEnd: (e) => console.log(`request ${e.id}: ${e.outcome}${e.finishReason ? ` (${e.finishReason})` : ''}, ${e.pieces} pieces${e.error ? `: ${e.error}` : ''}`),
  });
  const addr = await app.listen(port);
  console.log(`serving ${full} at http://${addr.address}:${addr.port} (POST /generate, GET /health)`);
  const stop = (): void => {
    app.close().finally(() => {
      model.dispose();
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof GlmError ? 2 : 1);
  });
}
