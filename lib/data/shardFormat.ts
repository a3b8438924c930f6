/**
 * The token shard file format (version 1), written by lib/data/shard.ts. All integers little-endian.
 *
 *   offset  size  field
 *        0     8  magic "GLMSHARD"
 *        8     4  u32 format version (1)
 *       12     4  u32 header size in bytes (128): the ids start here, aligned for a Uint32Array
 *       16     4  u32 bytes per token: 2 (u16 ids, when vocabSize <= 65536) or 4 (u32)
 *       20     4  u32 vocabSize of the tokenizer that wrote it
 *       24     8  u64 token count
 *       32     8  u64 document count
 *       40    32  fingerprint: SHA-256 of the sources (paths, sizes, mtimes) and tokenizer identity;
 *                 a shard whose fingerprint differs from the current one is stale and rebuilt
 *       72    32  SHA-256 of the id bytes, to detect a damaged file
 *      104    24  reserved, zero
 *      128     …  token count × bytes per token: the ids
 */
import { GlmError } from '../errors';

/** The first 8 bytes of every shard. */
export const SHARD_MAGIC = 'GLMSHARD';
/** The format version this build writes and reads. */
export const SHARD_VERSION = 1;
/** Header size; a multiple of 4 so the ids can be read straight into a Uint32Array. */
export const SHARD_HEADER_BYTES = 128;

/** The parsed header of a shard. */
export interface ShardHeader {
  readonly version: number;
  readonly bytesPerToken: 2 | 4;
  readonly vocabSize: number;
  readonly tokenCount: number;
  readonly documentCount: number;
  /** Hex SHA-256 of sources + tokenizer identity. */
  readonly fingerprint: string;
  /** Hex SHA-256 of the id bytes. */
  readonly payloadHash: string;
}

/** Ids fit u16 when every id < 65536. */
export function bytesPerTokenFor(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

/** The 128 header bytes for `h`. */
export function encodeShardHeader(h: ShardHeader): Buffer {
  const b = Buffer.alloc(SHARD_HEADER_BYTES);
  b.write(SHARD_MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(SHARD_HEADER_BYTES, 12);
  b.writeUInt32LE(h.bytesPerToken, 16);
  b.writeUInt32LE(h.vocabSize >>> 0, 20);
  b.writeBigUInt64LE(BigInt(h.tokenCount), 24);
  b.writeBigUInt64LE(BigInt(h.documentCount), 32);
  Buffer.from(h.fingerprint, 'hex').copy(b, 40);
  Buffer.from(h.payloadHash, 'hex').copy(b, 72);
  return b;
}

/**
 * Parses and checks a header read from `file` whose total size is `fileBytes`. Throws a GlmError
 * (op `op`) saying what is wrong: not a shard, an unsupported version, a bad field, truncated.
 */
export function decodeShardHeader(b: Uint8Array, fileBytes: number, file: string, op: string): ShardHeader {
  const fail = (what: string, expected: string, actual: string) =>
    new GlmError(op, `${file} is not a valid token shard: ${what} (delete it to rebuild)`, { argument: 'path', expected, actual });
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (fileBytes < SHARD_HEADER_BYTES || buf.length < SHARD_HEADER_BYTES)
    throw fail(`it has ${fileBytes} bytes, less than the ${SHARD_HEADER_BYTES}-byte header`, `at least ${SHARD_HEADER_BYTES} bytes`, `${fileBytes} bytes`);
  const magic = buf.toString('latin1', 0, 8);
  if (magic !== SHARD_MAGIC) throw fail('wrong magic bytes', JSON.stringify(SHARD_MAGIC), JSON.stringify(magic));
  const version = buf.readUInt32LE(8);
  if (version !== SHARD_VERSION) throw fail(`format version ${version}, this build reads version ${SHARD_VERSION}`, `version ${SHARD_VERSION}`, `version ${version}`);
  const headerBytes = buf.readUInt32LE(12);
  if (headerBytes !== SHARD_HEADER_BYTES) throw fail(`header size ${headerBytes}`, String(SHARD_HEADER_BYTES), String(headerBytes));
  const bytesPerToken = buf.readUInt32LE(16);
  if (bytesPerToken !== 2 && bytesPerToken !== 4) throw fail(`bytes per token ${bytesPerToken}`, '2 or 4', String(bytesPerToken));
  const vocabSize = buf.readUInt32LE(20) || 2 ** 32; // 2^32 is stored as 0
  if (bytesPerToken !== bytesPerTokenFor(vocabSize))
    throw fail(`${bytesPerToken} bytes per token for a vocabulary of ${vocabSize}`, `${bytesPerTokenFor(vocabSize)} bytes per token`, String(bytesPerToken));
  const count = buf.readBigUInt64LE(24);
  const docs = buf.readBigUInt64LE(32);
  if (count > BigInt(Number.MAX_SAFE_INTEGER) || docs > BigInt(Number.MAX_SAFE_INTEGER))
    throw fail('token or document count beyond 2^53', 'a count below 2^53', `${count} tokens, ${docs} documents`);
  const tokenCount = Number(count);
  const expectedBytes = SHARD_HEADER_BYTES + tokenCount * bytesPerToken;
  if (fileBytes !== expectedBytes)
    throw fail(
      `the header promises ${tokenCount} tokens × ${bytesPerToken} bytes + ${SHARD_HEADER_BYTES} = ${expectedBytes} bytes, the file has ${fileBytes}` +
        (fileBytes < expectedBytes ? ' (truncated)' : ''),
      `${expectedBytes} bytes`,
      `${fileBytes} bytes`,
    );
  return {
    version,
    bytesPerToken,
    vocabSize,
    tokenCount,
    documentCount: Number(docs),
    fingerprint: buf.toString('hex', 40, 72),
    payloadHash: buf.toString('hex', 72, 104),
  };
}
