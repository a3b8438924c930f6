/**
 * Our own reader and writer of the safetensors format, on plain host data.
 *
 * Layout: 8 bytes little-endian u64 N, N bytes of JSON header (padded with spaces so the data
 * starts 8-byte aligned), then the raw little-endian, row-major tensor data. The header maps each
 * tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data start)
 * and may hold "__metadata__": {string: string}.
 *
 * We write what the reference implementation (huggingface/safetensors) writes: compact JSON,
 * "__metadata__" first, tensors ordered by descending dtype alignment then by name (so every
 * tensor starts aligned to its element size and zero-copy views are possible), data packed with
 * no gaps. Metadata keys are sorted, so the same state always gives the same bytes.
 * Files are written atomically, tensor by tensor into the temp file, never as one giant buffer.
 */
import * as fs from 'fs';
import * as os from 'os';
import { GlmError, argError, describe } from '../errors';
import { withAtomicFile, withAtomicFileAsync } from './atomic';

/** The safetensors element types we read and write. */
export type SafetensorsDType = 'F32' | 'BF16' | 'I32' | 'I64' | 'F16' | 'U8';

/**
 * Host data of a tensor. F32: Float32Array; I32: Int32Array; BF16 and F16: Uint16Array of raw bits;
 * I64: BigInt64Array; U8: Uint8Array. A Uint8Array of raw little-endian bytes is accepted for any dtype.
 */
export type HostData = Uint8Array | Float32Array | Int32Array | Uint16Array | BigInt64Array;

/** One tensor on the host. `shape` [] is a scalar (one element); a 0 in it makes an empty tensor. */
export interface HostTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: HostData;
}

/** A tensor whose data is produced on demand, so a writer holds one tensor's bytes at a time. */
export interface LazyHostTensor {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: HostData | (() => HostData | Promise<HostData>);
}

/** Free-form string metadata ("__metadata__" in the header). */
export type SafetensorsMetadata = Record<string, string>;

/** The contents of a safetensors file. */
export interface SafetensorsContents {
  tensors: Record<string, HostTensor>;
  metadata: SafetensorsMetadata;
}

/** One tensor's entry in a parsed header (add SafetensorsHeader.dataStart to an offset for its file position). */
export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) relative to the data start, as in the file. */
  dataOffsets: [number, number];
}

/** A parsed, validated header. */
export interface SafetensorsHeader {
  /** Entries in file order (by data offset). */
  tensors: Record<string, SafetensorsEntry>;
  metadata: SafetensorsMetadata;
  /** File position of the first data byte (8 + header length). */
  dataStart: number;
  /** Total file size the header implies. */
  fileSize: number;
}

interface DTypeInfo {
  size: number;
  /** Position in the reference implementation's Dtype enum, which is in increasing alignment order. */
  rank: number;
}

// Ranks are the reference's enum positions (BOOL=0, U8=1, ..., F16=7, BF16=8, I32=9, F32=11, I64=13),
// so ties between equal sizes break exactly as there.
const DTYPE_INFO: Record<SafetensorsDType, DTypeInfo> = {
  U8: { size: 1, rank: 1 },
  F16: { size: 2, rank: 7 },
  BF16: { size: 2, rank: 8 },
  I32: { size: 4, rank: 9 },
  F32: { size: 4, rank: 11 },
  I64: { size: 8, rank: 13 },
};

/** The supported dtypes. */
export const SAFETENSORS_DTYPES: readonly SafetensorsDType[] = ['F32', 'BF16', 'I32', 'I64', 'F16', 'U8'];

/** Bytes per element of a dtype. */
export function safetensorsDTypeSize(dtype: SafetensorsDType): number {
  return DTYPE_INFO[dtype].size;
}

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length otherwise allocates GBs). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

function isDType(v: unknown): v is SafetensorsDType {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_INFO, v);
}

function checkHostEndian(op: string): void {
  // Typed arrays use the host's byte order and the format is little-endian: refuse rather than corrupt.
  if (os.endianness() !== 'LE') throw new GlmError(op, 'safetensors I/O needs a little-endian host');
}

function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Typed arrays allowed as data for each dtype (besides a raw Uint8Array). */
function dataMatches(dtype: SafetensorsDType, data: unknown): boolean {
  if (data instanceof Uint8Array) return true;
  switch (dtype) {
    case 'F32': return data instanceof Float32Array;
    case 'I32': return data instanceof Int32Array;
    case 'BF16':
    case 'F16': return data instanceof Uint16Array;
    case 'I64': return data instanceof BigInt64Array;
    case 'U8': return false;
  }
}

const EXPECTED_DATA: Record<SafetensorsDType, string> = {
  F32: 'a Float32Array (or Uint8Array of raw bytes)',
  I32: 'an Int32Array (or Uint8Array of raw bytes)',
  BF16: 'a Uint16Array of bf16 bits (or Uint8Array of raw bytes)',
  F16: 'a Uint16Array of f16 bits (or Uint8Array of raw bytes)',
  I64: 'a BigInt64Array (or Uint8Array of raw bytes)',
  U8: 'a Uint8Array',
};

function bytesOf(data: HostData): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function checkName(op: string, name: string): void {
  if (name.length === 0) throw argError(op, 'tensors', 'non-empty tensor names', '""');
  if (name === METADATA_KEY || name === '__proto__') throw argError(op, 'tensors', `tensor names other than "${name}" (reserved)`, `"${name}"`);
}

function checkSpec(op: string, name: string, t: unknown): { dtype: SafetensorsDType; shape: number[] } {
  if (t === null || typeof t !== 'object') throw argError(op, `tensors["${name}"]`, 'an object {dtype, shape, data}', describe(t));
  const { dtype, shape } = t as { dtype: unknown; shape: unknown };
  if (!isDType(dtype)) throw argError(op, `tensors["${name}"].dtype`, `one of ${SAFETENSORS_DTYPES.join(', ')}`, describe(dtype));
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw argError(op, `tensors["${name}"].shape`, 'an array of non-negative integers', Array.isArray(shape) ? `[${shape.map(describe).join(', ')}]` : describe(shape));
  }
  const bytes = numelOf(shape) * DTYPE_INFO[dtype].size;
  if (!Number.isSafeInteger(bytes)) throw argError(op, `tensors["${name}"].shape`, 'a shape whose byte size fits in 2^53', `[${shape.join(', ')}]`);
  return { dtype, shape: shape.slice() };
}

/** Checks `data` against the spec; returns its bytes. */
function checkData(op: string, name: string, dtype: SafetensorsDType, shape: readonly number[], data: unknown): Uint8Array {
  if (!dataMatches(dtype, data)) throw argError(op, `tensors["${name}"].data`, `${EXPECTED_DATA[dtype]} for dtype ${dtype}`, describe(data));
  const bytes = bytesOf(data as HostData);
  const want = numelOf(shape) * DTYPE_INFO[dtype].size;
  if (bytes.byteLength !== want) {
    throw argError(op, `tensors["${name}"].data`, `${want} bytes for ${dtype}[${shape.join(', ')}]`, `${bytes.byteLength} bytes (${describe(data)})`);
  }
  return bytes;
}

function checkMetadata(op: string, metadata: unknown): [string, string][] {
  if (metadata === undefined) return [];
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw argError(op, 'metadata', 'an object of string values', describe(metadata));
  }
  const entries = Object.entries(metadata as Record<string, unknown>);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw argError(op, `metadata["${k}"]`, 'a string', describe(v));
  }
  // Code-unit order, as a Rust BTreeMap would sort: deterministic bytes.
  return (entries as [string, string][]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The planned file: header bytes (length prefix included), tensor order and offsets. */
export interface SafetensorsLayout {
  /** 8-byte length + padded JSON header. */
  header: Uint8Array;
  /** Tensor names in file order. */
  order: string[];
  offsets: Record<string, [number, number]>;
  /** Bytes of tensor data after the header. */
  dataBytes: number;
}

/**
 * Plans a file for the given specs: sorts the tensors (descending alignment, then name), assigns
 * offsets and builds the header. Validates names, dtypes, shapes and metadata.
 */
export function planSafetensors(
  specs: Record<string, { dtype: SafetensorsDType; shape: readonly number[] }>,
  metadata?: SafetensorsMetadata,
  op = 'planSafetensors',
): SafetensorsLayout {
  checkHostEndian(op);
  if (specs === null || typeof specs !== 'object') throw argError(op, 'tensors', 'an object of name -> tensor', describe(specs));
  const meta = checkMetadata(op, metadata);
  const items = Object.keys(specs).map((name) => {
    checkName(op, name);
    return { name, ...checkSpec(op, name, specs[name]) };
  });
  items.sort((a, b) => {
    const r = DTYPE_INFO[b.dtype].rank - DTYPE_INFO[a.dtype].rank;
    if (r !== 0) return r;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  // Built by hand, not JSON.stringify(object): JS objects enumerate integer-like keys ("0", "12")
  // first, which would reorder the header.
  const parts: string[] = [];
  if (meta.length > 0) {
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  const offsets: Record<string, [number, number]> = {};
  let offset = 0;
  for (const it of items) {
    const n = numelOf(it.shape) * DTYPE_INFO[it.dtype].size;
    offsets[it.name] = [offset, offset + n];
    parts.push(`${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":[${it.shape.join(',')}],"data_offsets":[${offset},${offset + n}]}`);
    offset += n;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + padded);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length);
  return { header, order: items.map((i) => i.name), offsets, dataBytes: offset };
}

/** The whole file in memory. Handy for small files and tests; use writeSafetensors for checkpoints. */
export function serializeSafetensors(tensors: Record<string, HostTensor>, metadata?: SafetensorsMetadata): Uint8Array {
  const op = 'serializeSafetensors';
  const layout = planSafetensors(tensors, metadata, op);
  const out = new Uint8Array(layout.header.byteLength + layout.dataBytes);
  out.set(layout.header, 0);
  for (const name of layout.order) {
    const t = tensors[name];
    out.set(checkData(op, name, t.dtype, t.shape, t.data), layout.header.byteLength + layout.offsets[name][0]);
  }
  return out;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
}

/** A tensor whose data a synchronous function produces when the writer reaches it. */
export interface LazyHostTensorSync {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: HostData | (() => HostData);
}

/**
 * Writes a safetensors file atomically (temp file, fsync, rename): after a crash `path` holds the
 * old file or the new one. Writes tensor by tensor into the temp file, never one giant buffer;
 * a `data` given as a function is called only when its tensor is written (in file order), so a
 * caller can produce one tensor's host copy at a time.
 */
export function writeSafetensors(path: string, tensors: Record<string, HostTensor | LazyHostTensorSync>, metadata?: SafetensorsMetadata): void {
  const op = 'writeSafetensors';
  const layout = planSafetensors(tensors, metadata, op);
  // Validate what we already have before creating the temp file, so bad input never touches the disk.
  for (const name of layout.order) {
    const d = tensors[name].data;
    if (typeof d !== 'function') checkData(op, name, tensors[name].dtype, tensors[name].shape, d);
  }
  withAtomicFile(path, (fd) => {
    writeAll(fd, layout.header);
    for (const name of layout.order) {
      const t = tensors[name];
      writeAll(fd, checkData(op, name, t.dtype, t.shape, typeof t.data === 'function' ? t.data() : t.data));
    }
  }, op);
}

/**
 * Streaming twin of writeSafetensors for large checkpoints: each tensor's `data` may be a function
 * (sync or async) called only when that tensor is written, in file order (descending alignment,
 * then name), so only one tensor's host copy is alive at a time — e.g. read from the GPU on demand.
 */
export async function writeSafetensorsStreaming(
  path: string,
  tensors: Record<string, LazyHostTensor>,
  metadata?: SafetensorsMetadata,
): Promise<void> {
  const op = 'writeSafetensorsStreaming';
  const layout = planSafetensors(tensors, metadata, op);
  for (const name of layout.order) {
    const d = tensors[name].data;
    if (typeof d !== 'function') checkData(op, name, tensors[name].dtype, tensors[name].shape, d);
  }
  await withAtomicFileAsync(path, async (fh) => {
    const writeBytes = async (b: Uint8Array): Promise<void> => {
      let off = 0;
      while (off < b.byteLength) off += (await fh.write(b, off, b.byteLength - off)).bytesWritten;
    };
    await writeBytes(layout.header);
    for (const name of layout.order) {
      const t = tensors[name];
      const data = typeof t.data === 'function' ? await t.data() : t.data;
      await writeBytes(checkData(op, name, t.dtype, t.shape, data));
    }
  }, op);
}

function fail(op: string, source: string, message: string): GlmError {
  return new GlmError(op, `'${source}': ${message}`);
}

/**
 * Parses and validates a header. `head` holds at least the first 8 + N bytes of a file of
 * `fileSize` bytes (or fewer when the file is shorter, which is then reported).
 */
function parseHeader(op: string, source: string, head: Uint8Array, fileSize: number): SafetensorsHeader {
  if (fileSize < 8) throw fail(op, source, `truncated file: ${fileSize} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const lenBig = dv.getBigUint64(0, true);
  if (lenBig > BigInt(fileSize - 8)) {
    throw fail(op, source, `header length ${lenBig} runs past the end of the file (${fileSize} bytes): truncated or not a safetensors file`);
  }
  const n = Number(lenBig);
  if (n > MAX_HEADER_BYTES) throw fail(op, source, `header length ${n} is above the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) throw fail(op, source, `header length ${n} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, 8 + n));
  } catch {
    throw fail(op, source, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(op, source, `header is not valid JSON (${(err as Error).message}): ${describe(text)}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw fail(op, source, `header must be a JSON object, got ${describe(json)}`);
  }
  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const metadata: SafetensorsMetadata = {};
  const entries: { name: string; e: SafetensorsEntry }[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fail(op, source, `"__metadata__" must be an object of strings, got ${describe(v)}`);
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw fail(op, source, `"__metadata__" entry "${k}" must be a string, got ${describe(s)}`);
        if (k === '__proto__') throw fail(op, source, '"__metadata__" has the reserved key "__proto__"');
        metadata[k] = s;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (name === '__proto__') throw fail(op, source, `${where}: reserved name`);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fail(op, source, `${where}: expected {dtype, shape, data_offsets}, got ${describe(v)}`);
    const { dtype, shape, data_offsets: offs } = v as { dtype: unknown; shape: unknown; data_offsets: unknown };
    if (!isDType(dtype)) throw fail(op, source, `${where}: unknown dtype ${describe(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) throw fail(op, source, `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt) || offs[0] > offs[1]) {
      throw fail(op, source, `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offs)}`);
    }
    const want = numelOf(shape) * DTYPE_INFO[dtype].size;
    const have = offs[1] - offs[0];
    if (have !== want) {
      throw fail(op, source, `${where}: data_offsets [${offs[0]}, ${offs[1]}] give ${have} bytes but ${dtype}[${shape.join(', ')}] needs ${want}`);
    }
    if (offs[1] > dataSize) {
      throw fail(op, source, `${where}: data_offsets [${offs[0]}, ${offs[1]}] run past the end of the data (${dataSize} bytes): truncated file?`);
    }
    entries.push({ name, e: { dtype, shape: shape.slice(), dataOffsets: [offs[0], offs[1]] } });
  }
  entries.sort((a, b) => a.e.dataOffsets[0] - b.e.dataOffsets[0] || a.e.dataOffsets[1] - b.e.dataOffsets[1]);
  let pos = 0;
  let prev = '';
  for (const { name, e } of entries) {
    const [b] = e.dataOffsets;
    if (b < pos) throw fail(op, source, `tensor '${name}': data_offsets [${b}, ${e.dataOffsets[1]}] overlap tensor '${prev}' (which ends at ${pos})`);
    if (b > pos) throw fail(op, source, `tensor '${name}': data_offsets start at ${b}, leaving ${b - pos} unaccounted bytes after ${prev ? `tensor '${prev}'` : 'the header'}`);
    pos = e.dataOffsets[1];
    prev = name;
  }
  if (pos !== dataSize) throw fail(op, source, `${dataSize - pos} bytes after the last tensor's data (data is ${dataSize} bytes, tensors cover ${pos})`);
  const tensors: Record<string, SafetensorsEntry> = {};
  for (const { name, e } of entries) tensors[name] = e;
  return { tensors, metadata, dataStart, fileSize };
}

/** A typed view (no copy) over `bytes` for a dtype; `bytes` must be aligned to the element size. */
function typedView(dtype: SafetensorsDType, buf: ArrayBuffer, byteOffset: number, byteLength: number): HostData {
  const n = byteLength / DTYPE_INFO[dtype].size;
  switch (dtype) {
    case 'F32': return new Float32Array(buf, byteOffset, n);
    case 'I32': return new Int32Array(buf, byteOffset, n);
    case 'BF16':
    case 'F16': return new Uint16Array(buf, byteOffset, n);
    case 'I64': return new BigInt64Array(buf, byteOffset, n);
    case 'U8': return new Uint8Array(buf, byteOffset, n);
  }
}

/**
 * Parses a whole file held in memory. Tensor data are views into `bytes` (zero-copy) when their
 * position is aligned to the element size, copies otherwise. `source` names the file in errors.
 */
export function parseSafetensors(bytes: Uint8Array, source = '<bytes>'): SafetensorsContents {
  const op = 'parseSafetensors';
  checkHostEndian(op);
  if (!(bytes instanceof Uint8Array)) throw argError(op, 'bytes', 'a Uint8Array', describe(bytes));
  const header = parseHeader(op, source, bytes, bytes.byteLength);
  const tensors: Record<string, HostTensor> = {};
  for (const [name, e] of Object.entries(header.tensors)) {
    const start = bytes.byteOffset + header.dataStart + e.dataOffsets[0];
    const len = e.dataOffsets[1] - e.dataOffsets[0];
    let data: HostData;
    if (start % DTYPE_INFO[e.dtype].size === 0) {
      data = typedView(e.dtype, bytes.buffer as ArrayBuffer, start, len);
    } else {
      const copy = new Uint8Array(len);
      copy.set(bytes.subarray(start - bytes.byteOffset, start - bytes.byteOffset + len));
      data = typedView(e.dtype, copy.buffer, 0, len);
    }
    tensors[name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata: header.metadata };
}

function readFully(fd: number, into: Uint8Array, position: number): number {
  let off = 0;
  while (off < into.byteLength) {
    // readSync reads at most 2 GB per call; loop for large tensors.
    const got = fs.readSync(fd, into, off, Math.min(into.byteLength - off, 0x40000000), position + off);
    if (got === 0) break;
    off += got;
  }
  return off;
}

function openForRead(op: string, path: string): { fd: number; size: number } {
  if (typeof path !== 'string' || path.length === 0) throw argError(op, 'path', 'a non-empty string', describe(path));
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new GlmError(op, `could not open '${path}': ${(err as Error).message}`);
  }
  return { fd, size: fs.fstatSync(fd).size };
}

function readHeaderFd(op: string, path: string, fd: number, size: number): SafetensorsHeader {
  const prefix = new Uint8Array(Math.min(8, size));
  readFully(fd, prefix, 0);
  if (size < 8) return parseHeader(op, path, prefix, size); // throws "truncated"
  const n = new DataView(prefix.buffer).getBigUint64(0, true);
  // Read the JSON only when the length is plausible; parseHeader reports the bad ones.
  const headLen = n <= BigInt(Math.min(size - 8, MAX_HEADER_BYTES)) ? 8 + Number(n) : 8;
  const head = new Uint8Array(headLen);
  head.set(prefix);
  if (headLen > 8) readFully(fd, head.subarray(8), 8);
  return parseHeader(op, path, head, size);
}

/** Reads and validates only the header of a file: names, dtypes, shapes, offsets and metadata. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const op = 'readSafetensorsHeader';
  checkHostEndian(op);
  const { fd, size } = openForRead(op, path);
  try {
    return readHeaderFd(op, path, fd, size);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a safetensors file. Each tensor is read straight into its own typed array (aligned by
 * construction, no intermediate copy, no 4 GB whole-file limit). Every structural problem —
 * truncation, a bad header length, non-JSON header, unknown dtype, offsets that overlap, leave
 * gaps or run out of the file, a size that does not match dtype × shape — is a GlmError naming
 * the file and the tensor.
 */
export function readSafetensors(path: string): SafetensorsContents {
  const op = 'readSafetensors';
  checkHostEndian(op);
  const { fd, size } = openForRead(op, path);
  try {
    const header = readHeaderFd(op, path, fd, size);
    const tensors: Record<string, HostTensor> = {};
    for (const [name, e] of Object.entries(header.tensors)) {
      const len = e.dataOffsets[1] - e.dataOffsets[0];
      const buf = new ArrayBuffer(len);
      const got = readFully(fd, new Uint8Array(buf), header.dataStart + e.dataOffsets[0]);
      // The file may shrink under us (another process truncating it): report, never return zeros.
      if (got !== len) throw fail(op, path, `tensor '${name}': file ended after ${got} of ${len} data bytes`);
      tensors[name] = { dtype: e.dtype, shape: e.shape, data: typedView(e.dtype, buf, 0, len) };
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}
