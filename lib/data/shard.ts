/**
 * Tokenizes a corpus once into a binary shard file beside the run (format: lib/data/shardFormat.ts),
 * and reads it back as one typed array of ids. `ensureShard` is the entry point a training run uses:
 * it reuses the shard when its fingerprint (sources' paths, sizes and mtimes + tokenizer identity)
 * matches and the file is intact, and rebuilds it otherwise.
 *
 * Writing streams: the reader hands out text a megabyte or so at a time, cut where encoding the pieces
 * separately is exact (lib/data/reader.ts), and ids go to disk in blocks of 1 Mi tokens, so memory
 * does not grow with the corpus. The file is written through lib/io/atomic.ts's withAtomicFileAsync
 * (temp file in the same directory, fsync, rename, directory fsync): a crash leaves the old shard or
 * the new one, never half of one, and removeStaleTemps recognises the leftover temp file.
 *
 * Documents are joined by one separator, decided in `documentSeparatorIds`: the tokenizer's end-of-text
 * id when it has one (`eosId`, or `specialId('eos')`, as GPT-2's <|endoftext|>), otherwise the ids of
 * DOCUMENT_SEPARATOR ("\n\n"), encoded on its own. It goes between documents, not after the last one.
 *
 * Reading holds the whole shard in memory (2 bytes a token for vocabularies up to 65536, 4 above):
 * fine up to a few GB of ids; one typed array is capped by V8 at buffer.constants.MAX_LENGTH bytes
 * (4 GiB on Node 20), which is about 2.1 billion u16 tokens.
 */
import { createHash } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { promises as fsp } from 'node:fs';
import { endianness } from 'node:os';
import * as path from 'node:path';

import { argError, describe, GlmError } from '../errors';
import { withAtomicFileAsync } from '../io/atomic';
import type { Corpus } from './corpus';
import { DEFAULT_CHUNK_BYTES, newReadStats, readCorpus, ReadStats } from './reader';
import { bytesPerTokenFor, decodeShardHeader, encodeShardHeader, SHARD_HEADER_BYTES, SHARD_VERSION, ShardHeader } from './shardFormat';

export type { ShardHeader } from './shardFormat';

/**
 * What the shard builder needs of a tokenizer: `encode` and `vocabSize`. The optional members are
 * used when present, so lib/tokenizer's Tokenizer can be passed as it is.
 */
export interface TokenizerLike {
  /** Ids of `text`: integers in [0, vocabSize). */
  encode(text: string): ArrayLike<number>;
  readonly vocabSize: number;
  /** An end-of-text id; when set it separates documents instead of the encoded DOCUMENT_SEPARATOR. */
  readonly eosId?: number;
  /** lib/tokenizer's lookup of special ids; `specialId('eos')` is used when `eosId` is absent. */
  specialId?(name: 'eos'): number | undefined;
  /**
   * A string that changes whenever the tokenizer's mapping does; part of the shard fingerprint.
   * When absent, the SHA-256 of `toHuggingFaceJSON()` is used if the tokenizer has that method.
   * The fingerprint always also covers vocabSize and the ids of a fixed probe text.
   */
  readonly fingerprint?: string;
  /** lib/tokenizer's tokenizer.json export, hashed as the identity when `fingerprint` is absent. */
  toHuggingFaceJSON?(): unknown;
}

/** The ids of a shard in memory. */
export interface TokenShard {
  readonly path: string;
  readonly header: ShardHeader;
  /** The ids: Uint16Array when vocabSize <= 65536, else Uint32Array. */
  readonly tokens: Uint16Array | Uint32Array;
  readonly length: number;
}

/** Progress of a shard build. */
export interface ShardProgress {
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly tokens: number;
  readonly documents: number;
}

/** Options of `buildShard` / `ensureShard`. */
export interface BuildShardOptions {
  /** Bytes of text read at a time (default 1 MiB). Part of the fingerprint. */
  readonly chunkBytes?: number;
  /** Called after every encoded chunk. */
  readonly onProgress?: (p: ShardProgress) => void;
}

/** The result of `buildShard`. */
export interface BuildShardResult {
  readonly header: ShardHeader;
  /** Reading counters: invalid UTF-8 sequences replaced, hard cuts. */
  readonly stats: ReadStats;
}

/** Text between documents when the tokenizer has no eosId. */
export const DOCUMENT_SEPARATOR = '\n\n';

/** Version of the chunking rule (lib/data/reader.ts); part of the fingerprint, bump when it changes. */
const CHUNKING_VERSION = 1;

/** Fixed text whose ids stand for the tokenizer's mapping in the fingerprint. */
const PROBE_TEXT =
  'The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX, 0123456789!\n\n' +
  "  It's tabs\tand CRLF\r\nlines; Ünïcödé: naïve café, 日本語のテキスト, Ελληνικά, emoji 🙂🚀.\n";

const TOKENS_PER_BLOCK = 1 << 20;

/** The separator ids written between documents (see the file comment). */
export function documentSeparatorIds(tokenizer: TokenizerLike): number[] {
  const eos = eosIdOf(tokenizer);
  if (eos !== undefined) return [eos];
  return Array.from(tokenizer.encode(DOCUMENT_SEPARATOR));
}

function eosIdOf(t: TokenizerLike): number | undefined {
  if (t.eosId !== undefined) return t.eosId;
  return typeof t.specialId === 'function' ? t.specialId('eos') : undefined;
}

/** The tokenizer's own identity string for the fingerprint, or null. */
function tokenizerIdentity(t: TokenizerLike): string | null {
  if (t.fingerprint !== undefined) return String(t.fingerprint);
  if (typeof t.toHuggingFaceJSON === 'function') return sha256(JSON.stringify(t.toHuggingFaceJSON()));
  return null;
}

/** SHA-256 of the probe text's ids; a tokenizer that cannot encode it is identified by its error. */
function probeHash(t: TokenizerLike): string {
  try {
    return sha256(JSON.stringify(Array.from(t.encode(PROBE_TEXT))));
  } catch (e) {
    return 'encode failed: ' + String((e as Error)?.message ?? e);
  }
}

/** The hex fingerprint a shard of this corpus and tokenizer carries. */
export function shardFingerprint(corpus: Corpus, tokenizer: TokenizerLike, options: BuildShardOptions = {}): string {
  checkTokenizer('shardFingerprint', tokenizer);
  const identity = {
    format: SHARD_VERSION,
    chunking: CHUNKING_VERSION,
    chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
    files: corpus.files.map((f) => [f.path, f.bytes, f.mtimeMs]),
    tokenizer: {
      vocabSize: tokenizer.vocabSize,
      identity: tokenizerIdentity(tokenizer),
      probe: probeHash(tokenizer),
      separator: documentSeparatorIds(tokenizer),
    },
  };
  return sha256(JSON.stringify(identity));
}

/**
 * Tokenizes the corpus into a shard at `file` (atomically replacing any file there) and returns its
 * header. Throws a GlmError when the tokenizer fails or returns an id outside [0, vocabSize), or the
 * corpus cannot be read (see readCorpus); the target is then left as it was.
 */
export async function buildShard(file: string, corpus: Corpus, tokenizer: TokenizerLike, options: BuildShardOptions = {}): Promise<BuildShardResult> {
  const op = 'buildShard';
  if (typeof file !== 'string' || file === '') throw argError(op, 'file', 'a file path', describe(file));
  checkCorpus(op, corpus);
  checkTokenizer(op, tokenizer);
  checkLittleEndian(op);
  const fingerprint = shardFingerprint(corpus, tokenizer, options);
  const vocabSize = tokenizer.vocabSize;
  const bytesPerToken = bytesPerTokenFor(vocabSize);
  const separator = documentSeparatorIds(tokenizer);

  const target = path.resolve(file);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const stats = newReadStats();
  let header: ShardHeader | undefined;
  // withAtomicFileAsync wraps every failure as "could not write"; the error from inside (a bad id, a
  // file that is not text) says more, so it is the one rethrown.
  let inner: unknown;
  try {
    await withAtomicFileAsync(
      target,
      async (fh) => {
        try {
          const sink = new IdSink(fh, bytesPerToken, vocabSize);
          await fh.write(Buffer.alloc(SHARD_HEADER_BYTES), 0, SHARD_HEADER_BYTES, 0);
          let document = -1;
          let documents = 0;
          for await (const chunk of readCorpus(corpus, { chunkBytes: options.chunkBytes, stats })) {
            if (chunk.document !== document) {
              if (document >= 0) await sink.push(separator, 'the document separator');
              document = chunk.document;
              documents++;
            }
            let ids: ArrayLike<number>;
            try {
              ids = tokenizer.encode(chunk.text);
            } catch (e) {
              throw new GlmError(op, `tokenizer.encode failed on text from ${chunk.path}: ${(e as Error)?.message ?? String(e)}`, { argument: 'tokenizer' });
            }
            await sink.push(ids, chunk.path);
            options.onProgress?.({ bytesRead: stats.bytesRead, totalBytes: corpus.totalBytes, tokens: sink.count, documents });
          }
          await sink.flush();
          header = {
            version: SHARD_VERSION,
            bytesPerToken,
            vocabSize,
            tokenCount: sink.count,
            documentCount: documents,
            fingerprint,
            payloadHash: sink.hash.digest('hex'),
          };
          await fh.write(encodeShardHeader(header), 0, SHARD_HEADER_BYTES, 0);
        } catch (e) {
          inner = e;
          throw e;
        }
      },
      op,
    );
  } catch (e) {
    throw inner ?? e;
  }
  return { header: header!, stats };
}

/** Reads and checks only the header of the shard at `file`. */
export async function readShardHeader(file: string): Promise<ShardHeader> {
  const fh = await openForRead('readShardHeader', file);
  try {
    const { size } = await fh.stat();
    const b = Buffer.alloc(SHARD_HEADER_BYTES);
    const { bytesRead } = await fh.read(b, 0, SHARD_HEADER_BYTES, 0);
    return decodeShardHeader(b.subarray(0, bytesRead), size, file, 'readShardHeader');
  } finally {
    await fh.close();
  }
}

/** Options of `openShard`. */
export interface OpenShardOptions {
  /** Check the ids' SHA-256 and that every id < vocabSize (one pass over the file; default true). */
  readonly verify?: boolean;
}

/**
 * Reads the shard at `file` into memory. Throws a GlmError naming the file when it is not a shard,
 * is truncated, or (with verify) its ids are damaged.
 */
export async function openShard(file: string, options: OpenShardOptions = {}): Promise<TokenShard> {
  const op = 'openShard';
  checkLittleEndian(op);
  const fh = await openForRead(op, file);
  let header: ShardHeader;
  let tokens: Uint16Array | Uint32Array;
  try {
    const { size } = await fh.stat();
    const hb = Buffer.alloc(SHARD_HEADER_BYTES);
    const { bytesRead } = await fh.read(hb, 0, SHARD_HEADER_BYTES, 0);
    header = decodeShardHeader(hb.subarray(0, bytesRead), size, file, op);
    const payloadBytes = header.tokenCount * header.bytesPerToken;
    if (payloadBytes > bufferConstants.MAX_LENGTH)
      throw new GlmError(op, `${file} holds ${payloadBytes} bytes of ids, more than one typed array can hold here (${bufferConstants.MAX_LENGTH}); split the corpus`, {
        argument: 'path',
        expected: `at most ${bufferConstants.MAX_LENGTH} bytes of ids`,
        actual: `${payloadBytes}`,
      });
    tokens = header.bytesPerToken === 2 ? new Uint16Array(header.tokenCount) : new Uint32Array(header.tokenCount);
    const bytes = new Uint8Array(tokens.buffer);
    // fs reads are limited to 2 GiB per call.
    for (let done = 0; done < payloadBytes; ) {
      const want = Math.min(payloadBytes - done, 1 << 30);
      const { bytesRead: got } = await fh.read(bytes, done, want, SHARD_HEADER_BYTES + done);
      if (got === 0) throw new GlmError(op, `${file} ended early while reading ids (it shrank while being read?)`, { argument: 'path' });
      done += got;
    }
  } finally {
    await fh.close();
  }
  if (options.verify ?? true) verifyIds(op, file, header, tokens);
  return { path: file, header, tokens, length: tokens.length };
}

/** The result of `ensureShard`. */
export interface EnsureShardResult {
  readonly shard: TokenShard;
  /** True when the shard was (re)built by this call. */
  readonly rebuilt: boolean;
  /** Why: "up to date", "no shard yet", "sources or tokenizer changed", or what was wrong with the file. */
  readonly reason: string;
  /** Reading counters of the build (undefined when the shard was reused). */
  readonly stats?: ReadStats;
}

/**
 * The shard of `corpus` under `tokenizer` at `file`: reused when its fingerprint matches and it is
 * intact, otherwise (re)built first. A damaged or foreign file at `file` is replaced, not an error:
 * the shard is a cache of the sources.
 */
export async function ensureShard(file: string, corpus: Corpus, tokenizer: TokenizerLike, options: BuildShardOptions = {}): Promise<EnsureShardResult> {
  checkCorpus('ensureShard', corpus);
  const fingerprint = shardFingerprint(corpus, tokenizer, options);
  let reason: string;
  try {
    const header = await readShardHeader(file);
    if (header.fingerprint === fingerprint) {
      const shard = await openShard(file, { verify: true });
      return { shard, rebuilt: false, reason: 'up to date' };
    }
    reason = 'sources or tokenizer changed';
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'ENOENT' || (e instanceof GlmError && e.actual === 'ENOENT')) reason = 'no shard yet';
    else if (e instanceof GlmError) reason = e.message;
    else throw e;
  }
  const { stats } = await buildShard(file, corpus, tokenizer, options);
  // Just written and fsynced: skip the verification pass.
  const shard = await openShard(file, { verify: false });
  return { shard, rebuilt: true, reason, stats };
}

/** Buffers ids into fixed-size blocks, checks them, hashes and writes them after the header. */
class IdSink {
  count = 0;
  readonly hash = createHash('sha256');
  private readonly block: Uint16Array | Uint32Array;
  private fill = 0;
  private position = SHARD_HEADER_BYTES;

  constructor(
    private readonly fh: fsp.FileHandle,
    private readonly bytesPerToken: 2 | 4,
    private readonly vocabSize: number,
  ) {
    this.block = bytesPerToken === 2 ? new Uint16Array(TOKENS_PER_BLOCK) : new Uint32Array(TOKENS_PER_BLOCK);
  }

  /** Appends ids (from `source`, for the error message). */
  async push(ids: ArrayLike<number>, source: string): Promise<void> {
    const n = ids.length;
    if (!Number.isSafeInteger(n)) throw new GlmError('buildShard', `tokenizer.encode returned ${describe(ids)} for text from ${source}; expected an array of ids`, { argument: 'tokenizer' });
    const bad = firstBadId(ids, this.vocabSize);
    if (bad >= 0)
      throw new GlmError('buildShard', `tokenizer.encode returned id ${describe(ids[bad])} (at index ${bad}) for text from ${source}; expected integers in [0, vocabSize = ${this.vocabSize})`, {
        argument: 'tokenizer',
        expected: `ids in [0, ${this.vocabSize})`,
        actual: describe(ids[bad]),
      });
    // Typed arrays (what real tokenizers return) are copied in bulk, a block at a time.
    const typed = ArrayBuffer.isView(ids) ? (ids as unknown as Uint32Array) : null;
    for (let i = 0; i < n; ) {
      const take = Math.min(n - i, TOKENS_PER_BLOCK - this.fill);
      if (typed) this.block.set(typed.subarray(i, i + take), this.fill);
      else for (let k = 0; k < take; k++) this.block[this.fill + k] = ids[i + k];
      this.fill += take;
      i += take;
      if (this.fill === TOKENS_PER_BLOCK) await this.flush();
    }
    this.count += n;
  }

  async flush(): Promise<void> {
    if (this.fill === 0) return;
    const bytes = new Uint8Array(this.block.buffer, 0, this.fill * this.bytesPerToken);
    this.hash.update(bytes);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.length;
    this.fill = 0;
  }
}

/** Index of the first element of ids that is not an integer in [0, vocab), or -1. */
function firstBadId(ids: ArrayLike<number>, vocab: number): number {
  const n = ids.length;
  if (ids instanceof Uint16Array || ids instanceof Uint32Array) {
    // Integers >= 0 by type: only the upper bound can fail.
    for (let i = 0; i < n; i++) if (ids[i] >= vocab) return i;
    return -1;
  }
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    // id >>> 0 === id holds exactly for the integers 0 .. 2^32 - 1.
    if (id >>> 0 !== id || id >= vocab) return i;
  }
  return -1;
}

function verifyIds(op: string, file: string, header: ShardHeader, tokens: Uint16Array | Uint32Array): void {
  const h = createHash('sha256');
  const bytes = new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
  for (let i = 0; i < bytes.length; i += 1 << 26) h.update(bytes.subarray(i, Math.min(bytes.length, i + (1 << 26))));
  const got = h.digest('hex');
  if (got !== header.payloadHash)
    throw new GlmError(op, `${file} is damaged: the SHA-256 of its ids does not match its header (delete it to rebuild)`, {
      argument: 'path',
      expected: header.payloadHash,
      actual: got,
    });
  if (header.vocabSize < 2 ** (8 * header.bytesPerToken)) {
    const vocab = header.vocabSize;
    for (let i = 0; i < tokens.length; i++)
      if (tokens[i] >= vocab)
        throw new GlmError(op, `${file} holds id ${tokens[i]} at ${i}, outside its vocabulary of ${vocab}`, { argument: 'path', expected: `ids < ${vocab}`, actual: String(tokens[i]) });
  }
}

async function openForRead(op: string, file: string): Promise<fsp.FileHandle> {
  if (typeof file !== 'string' || file === '') throw argError(op, 'path', 'a file path', describe(file));
  try {
    return await fsp.open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new GlmError(op, `cannot open token shard ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, {
      argument: 'path',
      expected: 'a readable shard file',
      actual: code,
    });
  }
}

function checkTokenizer(op: string, t: TokenizerLike): void {
  if (!t || typeof t.encode !== 'function') throw argError(op, 'tokenizer', 'an object with encode(text) and vocabSize', describe(t));
  if (!Number.isSafeInteger(t.vocabSize) || t.vocabSize < 1 || t.vocabSize > 2 ** 32)
    throw argError(op, 'tokenizer.vocabSize', 'an integer in [1, 2^32]', describe(t.vocabSize));
  const eos = eosIdOf(t);
  if (eos !== undefined && (!Number.isSafeInteger(eos) || eos < 0 || eos >= t.vocabSize))
    throw argError(op, t.eosId !== undefined ? 'tokenizer.eosId' : "tokenizer.specialId('eos')", `undefined or an integer in [0, ${t.vocabSize})`, describe(eos));
}

function checkCorpus(op: string, c: Corpus): void {
  if (!c || !Array.isArray(c.files) || c.files.length === 0)
    throw argError(op, 'corpus', 'a Corpus from resolveCorpus() with at least one file', describe(c));
}

function checkLittleEndian(op: string): void {
  if (endianness() !== 'LE') throw new GlmError(op, 'token shards are little-endian and this machine is big-endian, which is not supported');
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
