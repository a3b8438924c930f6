/**
 * lib/io/safetensors.ts against a hand-written reference of the format (expected bytes built by
 * hand: length prefix, header JSON, space padding, offsets, little-endian data), the layout the
 * reference implementation writes (descending dtype alignment, then name), round trips on awkward
 * shapes, zero-copy views, determinism, the streaming writer, and every kind of corrupt file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  HostTensor,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsStreaming,
} from '../lib/io/safetensors';
import { assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-io-st-'));
const file = (name: string) => path.join(tmp, name);
const bytesOf = (a: ArrayBufferView) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
const ascii = (s: string) => Array.from(Buffer.from(s, 'utf8'));
const u64le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff, 0, 0, 0, 0];

/** A file from a raw header string (padded to 8 with spaces unless `pad` is false) and data bytes. */
function rawFile(name: string, header: string, data: number[] | Uint8Array, pad = true): string {
  let h = header;
  if (pad) while (h.length % 8 !== 0) h += ' ';
  const p = file(name);
  fs.writeFileSync(p, Buffer.from([...u64le(Buffer.byteLength(h)), ...ascii(h), ...Array.from(data)]));
  return p;
}

function tempsIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.includes('.tmp-'));
}

const format = suite('safetensors format');

format('writes the bytes of a hand-built reference file (mixed dtypes, metadata, padding)', () => {
  const tensors: Record<string, HostTensor> = {
    h: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
    ids: { dtype: 'I32', shape: [3], data: new Int32Array([1, -1, 7]) },
    w: { dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) },
  };
  // F32 (most aligned) first, then I32, then BF16; metadata first; compact JSON.
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"ids":{"dtype":"I32","shape":[3],"data_offsets":[8,20]},' +
    '"h":{"dtype":"BF16","shape":[1],"data_offsets":[20,22]}}';
  assert.is(header.length, 197);
  const expected = [
    200, 0, 0, 0, 0, 0, 0, 0, // 197 bytes of JSON + 3 spaces = 200
    ...ascii(header), 0x20, 0x20, 0x20,
    0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, // 1.5f, -2f
    1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, // 1, -1, 7
    0x80, 0x3f, // bf16 1.0
  ];
  const got = serializeSafetensors(tensors, { format: 'pt' });
  assert.equal(Array.from(got), expected);
  const p = file('ref.safetensors');
  writeSafetensors(p, tensors, { format: 'pt' });
  assert.equal(Array.from(fs.readFileSync(p)), expected);
});

format('no metadata and an unpadded-length header: exactly the documented layout', () => {
  // 64 bytes of JSON: already a multiple of 8, so no padding.
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assert.is(header.length, 64);
  const data = new Float32Array([0, 1, 2, 3, 4, 5]);
  const got = serializeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } });
  assert.equal(Array.from(got), [64, 0, 0, 0, 0, 0, 0, 0, ...ascii(header), ...bytesOf(data)]);
  // An empty file: "{}" padded to 8.
  assert.equal(Array.from(serializeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
});

format('layout: descending alignment (I64, F32, I32, BF16, F16, U8), then name; every tensor aligned', () => {
  const r = rng();
  const t: Record<string, HostTensor> = {
    u: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    f16: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
    b: { dtype: 'BF16', shape: [3], data: new Uint16Array([1, 2, 3]) },
    a: { dtype: 'BF16', shape: [1], data: new Uint16Array([4]) },
    i: { dtype: 'I32', shape: [1], data: new Int32Array([9]) },
    z: { dtype: 'F32', shape: [3], data: r.normals(3) },
    y: { dtype: 'F32', shape: [1], data: r.normals(1) },
    l: { dtype: 'I64', shape: [1], data: new BigInt64Array([-5n]) },
  };
  const bytes = serializeSafetensors(t);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is(n % 8, 0, 'header padded to 8');
  const json = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  assert.equal(Object.keys(json), ['l', 'y', 'z', 'i', 'a', 'b', 'f16', 'u']);
  const sizes: Record<string, number> = { I64: 8, F32: 4, I32: 4, BF16: 2, F16: 2, U8: 1 };
  let pos = 0;
  for (const k of Object.keys(json)) {
    const [b, e] = json[k].data_offsets;
    assert.is(b, pos, `${k} starts where the previous ended`);
    assert.is((8 + n + b) % sizes[json[k].dtype], 0, `${k} aligned`);
    pos = e;
  }
  assert.is(bytes.byteLength, 8 + n + pos);
});

format('integer-like names keep the sorted order in the header', () => {
  const one = (v: number): HostTensor => ({ dtype: 'F32', shape: [], data: new Float32Array([v]) });
  const bytes = serializeSafetensors({ '10': one(1), '2': one(2), b: one(3) });
  const text = Buffer.from(bytes).toString('latin1');
  assert.ok(text.indexOf('"10"') < text.indexOf('"2"') && text.indexOf('"2"') < text.indexOf('"b"'), text);
});

format('deterministic: insertion order of tensors and metadata does not change the bytes', () => {
  const r = rng();
  const a = r.normals(12);
  const c = r.ints(5, -100, 100);
  const x = serializeSafetensors(
    { a: { dtype: 'F32', shape: [3, 4], data: a }, c: { dtype: 'I32', shape: [5], data: c } },
    { step: '10', arch: 'gpt' },
  );
  const y = serializeSafetensors(
    { c: { dtype: 'I32', shape: [5], data: c }, a: { dtype: 'F32', shape: [3, 4], data: a } },
    { arch: 'gpt', step: '10' },
  );
  assert.equal(Array.from(x), Array.from(y));
});

const round = suite('safetensors round trips');

round('awkward shapes and every dtype round-trip exactly through a file', () => {
  const r = rng();
  const f = r.normals(7 * 65);
  f[3] = NaN;
  f[4] = -0;
  f[5] = Infinity;
  const t: Record<string, HostTensor> = {
    'scalar': { dtype: 'F32', shape: [], data: new Float32Array([r.normal()]) },
    'empty': { dtype: 'F32', shape: [0], data: new Float32Array(0) },
    'empty3': { dtype: 'I32', shape: [3, 0, 2], data: new Int32Array(0) },
    'w.7x65': { dtype: 'F32', shape: [7, 65], data: f },
    'odd.bf16': { dtype: 'BF16', shape: [3, 3], data: Uint16Array.from({ length: 9 }, () => r.int(0, 65536)) },
    'odd.f16': { dtype: 'F16', shape: [5], data: Uint16Array.from({ length: 5 }, () => r.int(0, 65536)) },
    'ids': { dtype: 'I32', shape: [2, 3], data: r.ints(6, -(2 ** 31), 2 ** 31 - 1) },
    'big': { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 2n ** 40n + 3n]) },
    'mask': { dtype: 'U8', shape: [7], data: Uint8Array.from({ length: 7 }, () => r.int(0, 256)) },
  };
  const meta = { note: 'ünïcode ✓', empty: '' };
  const p = file('round.safetensors');
  writeSafetensors(p, t, meta);
  const back = readSafetensors(p);
  assert.equal(back.metadata, meta);
  assert.equal(Object.keys(back.tensors).sort(), Object.keys(t).sort());
  for (const [name, want] of Object.entries(t)) {
    const got = back.tensors[name];
    assert.is(got.dtype, want.dtype, name);
    assert.equal(got.shape, want.shape, name);
    assert.is(got.data.constructor, want.data.constructor, `${name}: typed array kind`);
    assert.equal(bytesOf(got.data), bytesOf(want.data), `${name}: bytes`);
  }
  // The in-memory parser agrees with the file reader.
  const parsed = parseSafetensors(new Uint8Array(fs.readFileSync(p)), p);
  for (const name of Object.keys(t)) assert.equal(bytesOf(parsed.tensors[name].data), bytesOf(t[name].data), name);
});

round('raw Uint8Array data is accepted for any dtype and gives the same file', () => {
  const f = new Float32Array([1, 2, 3]);
  const a = serializeSafetensors({ x: { dtype: 'F32', shape: [3], data: f } });
  const b = serializeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Uint8Array(f.buffer) } });
  assert.equal(Array.from(a), Array.from(b));
});

round('parseSafetensors: zero-copy views when aligned, copies when not', () => {
  const t: Record<string, HostTensor> = {
    f: { dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
    h: { dtype: 'BF16', shape: [3], data: new Uint16Array([5, 6, 7]) },
  };
  const bytes = serializeSafetensors(t);
  const aligned = parseSafetensors(bytes);
  assert.ok(aligned.tensors.f.data.buffer === bytes.buffer, 'F32 is a view');
  assert.ok(aligned.tensors.h.data.buffer === bytes.buffer, 'BF16 is a view');
  // The same bytes at an odd position in a larger buffer: views are impossible, copies are right.
  const shifted = new Uint8Array(bytes.byteLength + 1);
  shifted.set(bytes, 1);
  const moved = parseSafetensors(shifted.subarray(1));
  assert.ok(moved.tensors.f.data.buffer !== shifted.buffer, 'F32 copied');
  assert.equal(Array.from(moved.tensors.f.data as Float32Array), [1, 2, 3, 4]);
  assert.equal(Array.from(moved.tensors.h.data as Uint16Array), [5, 6, 7]);
});

round('readSafetensorsHeader reads the header only', () => {
  const p = file('hdr.safetensors');
  writeSafetensors(p, { w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } }, { k: 'v' });
  const h = readSafetensorsHeader(p);
  assert.equal(h.tensors, { w: { dtype: 'F32', shape: [2, 3], dataOffsets: [0, 24] } });
  assert.equal(h.metadata, { k: 'v' });
  assert.is(h.fileSize, fs.statSync(p).size);
  assert.is(h.dataStart + 24, h.fileSize);
});

round('streaming writer: lazy data is produced in file order, one tensor at a time, same bytes', async () => {
  const r = rng();
  const values: Record<string, Float32Array | Int32Array> = { b: r.normals(10), a: r.normals(3), c: r.ints(4, 0, 9) };
  const calls: string[] = [];
  let live = 0;
  let maxLive = 0;
  const lazy = (name: string) => async () => {
    calls.push(name);
    live++;
    maxLive = Math.max(maxLive, live);
    await new Promise((res) => setTimeout(res, 1));
    live--;
    return values[name];
  };
  const p = file('stream.safetensors');
  await writeSafetensorsStreaming(p, {
    b: { dtype: 'F32', shape: [10], data: lazy('b') },
    c: { dtype: 'I32', shape: [4], data: lazy('c') },
    a: { dtype: 'F32', shape: [3], data: values.a },
  });
  assert.equal(calls, ['b', 'c'], 'F32 b before I32 c; a was given eagerly');
  assert.is(maxLive, 1);
  const eager = serializeSafetensors({
    a: { dtype: 'F32', shape: [3], data: values.a },
    b: { dtype: 'F32', shape: [10], data: values.b },
    c: { dtype: 'I32', shape: [4], data: values.c },
  });
  assert.equal(Array.from(fs.readFileSync(p)), Array.from(eager));
  // Sync writer with lazy data gives the same bytes too.
  const q = file('stream-sync.safetensors');
  writeSafetensors(q, {
    a: { dtype: 'F32', shape: [3], data: () => values.a },
    b: { dtype: 'F32', shape: [10], data: () => values.b },
    c: { dtype: 'I32', shape: [4], data: values.c },
  });
  assert.equal(Array.from(fs.readFileSync(q)), Array.from(eager));
});

round('a failing write leaves the old file and no temp file', async () => {
  const p = file('keep.safetensors');
  writeSafetensors(p, { x: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
  const before = Array.from(fs.readFileSync(p));
  await assertThrows(
    () => writeSafetensorsStreaming(p, {
      x: { dtype: 'F32', shape: [2], data: new Float32Array([3, 4]) },
      y: { dtype: 'I32', shape: [1], data: async () => { throw new Error('device lost'); } },
    }),
    'writeSafetensorsStreaming', p, 'device lost',
  );
  await assertThrows(
    () => writeSafetensors(p, { x: { dtype: 'F32', shape: [2], data: () => new Float32Array(3) } }),
    'writeSafetensors', 'tensors["x"].data', '8 bytes for F32[2]', '12 bytes',
  );
  assert.equal(Array.from(fs.readFileSync(p)), before);
  assert.equal(tempsIn(tmp), []);
});

round('bad writer input: clear errors naming the argument', async () => {
  const p = file('bad.safetensors');
  await assertThrows(() => writeSafetensors(p, { x: { dtype: 'F64' as 'F32', shape: [1], data: new Float32Array(1) } }), 'tensors["x"].dtype', 'F64');
  await assertThrows(() => writeSafetensors(p, { x: { dtype: 'F32', shape: [2.5], data: new Float32Array(1) } }), 'tensors["x"].shape', '2.5');
  await assertThrows(() => writeSafetensors(p, { x: { dtype: 'F32', shape: [2], data: new Int32Array(2) } }), 'tensors["x"].data', 'Float32Array', 'Int32Array');
  await assertThrows(() => writeSafetensors(p, { x: { dtype: 'I64', shape: [1], data: new Int32Array(2) } }), 'BigInt64Array');
  await assertThrows(() => writeSafetensors(p, { __metadata__: { dtype: 'F32', shape: [], data: new Float32Array(1) } }), 'reserved');
  await assertThrows(() => writeSafetensors(p, {}, { step: 3 as unknown as string }), 'metadata["step"]', 'a string', '3');
  assert.not.ok(fs.existsSync(p), 'nothing written');
});

const corrupt = suite('safetensors corrupt files');

const GOOD = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
const GOOD_DATA = new Uint8Array(12);

corrupt('the hand-made good file reads (so the failures below are the corruption)', () => {
  const p = rawFile('good.safetensors', GOOD, GOOD_DATA);
  const f = readSafetensors(p);
  assert.equal(Object.keys(f.tensors), ['a', 'b']);
});

corrupt('truncated: shorter than the length prefix', async () => {
  const p = file('tiny.safetensors');
  fs.writeFileSync(p, Buffer.from([1, 2, 3]));
  await assertThrows(() => readSafetensors(p), p, 'truncated', '3 bytes');
});

corrupt('truncated: the data is cut short (names the tensor)', async () => {
  const p = rawFile('cut.safetensors', GOOD, GOOD_DATA.subarray(0, 10));
  await assertThrows(() => readSafetensors(p), p, "tensor 'b'", 'run past the end of the data', 'truncated');
  // A real file cut by one byte.
  const q = file('cut2.safetensors');
  writeSafetensors(q, { w: { dtype: 'F32', shape: [7, 65], data: new Float32Array(455) } });
  fs.truncateSync(q, fs.statSync(q).size - 1);
  await assertThrows(() => readSafetensors(q), q, "tensor 'w'", 'truncated');
});

corrupt('header length beyond the file', async () => {
  const p = file('longhdr.safetensors');
  fs.writeFileSync(p, Buffer.from([...u64le(1000), ...ascii('{}      ')]));
  await assertThrows(() => readSafetensors(p), p, 'header length 1000', 'past the end of the file');
  const q = file('hugehdr.safetensors');
  fs.writeFileSync(q, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d]));
  await assertThrows(() => readSafetensors(q), q, 'header length 18446744073709551615');
});

corrupt('non-JSON, non-UTF-8 and non-object headers', async () => {
  await assertThrows(() => readSafetensors(rawFile('nojson.safetensors', '{"a": oops}', [])), 'nojson.safetensors', 'not valid JSON');
  const p = file('utf.safetensors');
  fs.writeFileSync(p, Buffer.from([...u64le(8), 0x7b, 0xff, 0xfe, 0x7d, 32, 32, 32, 32]));
  await assertThrows(() => readSafetensors(p), p, 'UTF-8');
  await assertThrows(() => readSafetensors(rawFile('arr.safetensors', '[1,2]', [])), 'arr.safetensors', 'JSON object');
});

corrupt('unknown dtype names the tensor and the dtype', async () => {
  const h = '{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}';
  await assertThrows(() => readSafetensors(rawFile('f64.safetensors', h, new Uint8Array(8))), 'f64.safetensors', "tensor 'x'", 'unknown dtype "F64"');
});

corrupt('data size not matching dtype × shape', async () => {
  const h = '{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}';
  await assertThrows(() => readSafetensors(rawFile('size.safetensors', h, new Uint8Array(8))), 'size.safetensors', "tensor 'x'", 'give 8 bytes', 'F32[3] needs 12');
});

corrupt('overlapping, gapped, reversed and out-of-range offsets; trailing bytes', async () => {
  const overlap = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
  await assertThrows(() => readSafetensors(rawFile('ovl.safetensors', overlap, new Uint8Array(8))), "tensor 'b'", "overlap tensor 'a'");
  const gap = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
  await assertThrows(() => readSafetensors(rawFile('gap.safetensors', gap, new Uint8Array(12))), "tensor 'b'", '4 unaccounted bytes');
  const rev = '{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}';
  await assertThrows(() => readSafetensors(rawFile('rev.safetensors', rev, new Uint8Array(8))), "tensor 'a'", 'begin <= end');
  const far = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[100,104]}}';
  await assertThrows(() => readSafetensors(rawFile('far.safetensors', far, new Uint8Array(4))), "tensor 'a'", 'run past the end');
  await assertThrows(() => readSafetensors(rawFile('trail.safetensors', GOOD, new Uint8Array(13))), 'trail.safetensors', '1 bytes after the last tensor');
  const neg = '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}';
  await assertThrows(() => readSafetensors(rawFile('neg.safetensors', neg, [])), "tensor 'a'", 'shape');
});

corrupt('bad metadata', async () => {
  const h = '{"__metadata__":{"step":5}}';
  await assertThrows(() => readSafetensors(rawFile('meta.safetensors', h, [])), 'meta.safetensors', '"step" must be a string');
});

corrupt('an unpadded header written elsewhere still reads (unaligned data is copied)', () => {
  const h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 55 bytes: data at 63, unaligned
  const f = new Float32Array([3.25, -1]);
  const p = rawFile('unpadded.safetensors', h, bytesOf(f), false);
  assert.equal(Array.from(readSafetensors(p).tensors.a.data as Float32Array), [3.25, -1]);
  const parsed = parseSafetensors(new Uint8Array(fs.readFileSync(p)));
  assert.equal(Array.from(parsed.tensors.a.data as Float32Array), [3.25, -1]);
});

corrupt.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

format.run();
round.run();
corrupt.run();
