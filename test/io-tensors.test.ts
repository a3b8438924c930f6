/**
 * saveTensors / saveTensorsSync / loadTensors on every device: f32, i32 and bf16 (bits exact,
 * NaN payloads and signed zeros included) on awkward shapes, files from other writers (F16, U8,
 * I64), and the bf16/f16 bit converters against float64 references built from the IEEE definitions.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, widenedF32ToBf16Bits } from '../lib/io/bf16';
import { readSafetensors, serializeSafetensors, writeSafetensors } from '../lib/io/safetensors';
import { loadTensors, saveTensors, saveTensorsSync } from '../lib/io/tensors';
import { Tensor } from '../lib/tensor';
import { assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { rng } from './helpers/random';
import { bf16Value, f16Value, nearestBf16 } from './reference/halfFloat';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-io-t-'));
const file = (name: string) => path.join(tmp, name);
const bits32 = (f: Float32Array) => Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));

/** Random bf16 bit patterns including the special ones. */
function bf16Patterns(n: number): Uint16Array {
  const r = rng();
  const specials = [0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x7f81, 0xffff, 0x0001, 0x8001, 0x3f80];
  return Uint16Array.from({ length: n }, (_, i) => (i < specials.length ? specials[i] : r.int(0, 65536)));
}

deviceSuites('io tensors', (test, device) => {
  test('saveTensors / loadTensors round trip f32, i32, bf16 on awkward shapes', async () => {
    const r = rng();
    const f = r.normals(7 * 65);
    const ids = r.ints(11, -(2 ** 31), 2 ** 31 - 1);
    const hb = bf16Patterns(3 * 5 * 7);
    const src = {
      'w.f32': Tensor.from(f, [7, 65], { device }),
      'scalar': Tensor.from(r.normal(), [], { device }),
      'empty': Tensor.from(new Float32Array(0), [4, 0], { device }),
      'ids': Tensor.from(ids, [11], { dtype: 'i32', device }),
      'h.bf16': Tensor.from(hb, [3, 5, 7], { dtype: 'bf16', device }),
    };
    const p = file(`rt-${device}.safetensors`);
    await saveTensors(p, src, { step: '42' });
    // On disk: the right dtypes, and bf16 as its exact raw bits.
    const raw = readSafetensors(p);
    assert.equal(raw.metadata, { step: '42' });
    assert.is(raw.tensors['h.bf16'].dtype, 'BF16');
    assert.equal(Array.from(raw.tensors['h.bf16'].data as Uint16Array), Array.from(hb));
    assert.is(raw.tensors.ids.dtype, 'I32');
    assert.equal(bits32(raw.tensors['w.f32'].data as Float32Array), bits32(f));

    const { tensors, metadata } = loadTensors(p, { device });
    assert.equal(metadata, { step: '42' });
    for (const [name, t] of Object.entries(src)) {
      const got = tensors[name];
      assert.is(got.device, t.device, name);
      assert.is(got.dtype, t.dtype, name);
      assert.equal(got.shape, t.shape, name);
      const a = await got.toArray();
      const b = await t.toArray();
      assert.equal(Array.from(new Uint32Array(a.buffer)), Array.from(new Uint32Array(b.buffer)), `${name}: bits`);
    }
    // The sync twin writes the same bytes.
    const q = file(`rt-sync-${device}.safetensors`);
    saveTensorsSync(q, src, { step: '42' });
    assert.equal(Array.from(fs.readFileSync(q)), Array.from(fs.readFileSync(p)));
    for (const t of [...Object.values(src), ...Object.values(tensors)]) t.dispose();
  });

  test('files from other writers: F16 -> f32, U8 -> i32, I64 -> i32', async () => {
    const h = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00, 0x8000]);
    const p = file(`other-${device}.safetensors`);
    writeSafetensors(p, {
      h: { dtype: 'F16', shape: [2, 3], data: h },
      u: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 200, 255]) },
      l: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n]) },
    });
    const { tensors } = loadTensors(p, { device });
    assert.is(tensors.h.dtype, 'f32');
    assert.equal(Array.from(await tensors.h.toArray()), Array.from(h, f16Value));
    assert.is(tensors.u.dtype, 'i32');
    assert.equal(Array.from(await tensors.u.toArray()), [0, 200, 255]);
    assert.equal(Array.from(await tensors.l.toArray()), [-(2 ** 31), 2 ** 31 - 1]);
    for (const t of Object.values(tensors)) t.dispose();
    const q = file(`i64-${device}.safetensors`);
    writeSafetensors(q, { l: { dtype: 'I64', shape: [3], data: new BigInt64Array([0n, 1n, 2n ** 31n]) } });
    await assertThrows(() => loadTensors(q, { device }), 'loadTensors', q, "tensor 'l'", '2147483648', 'index 2');
  });
});

const io = suite('io tensors: arguments and converters');

io('bad arguments name the argument', async () => {
  const t = Tensor.from([1, 2]);
  await assertThrows(() => saveTensors(file('x.safetensors'), { a: [1, 2] as unknown as Tensor }), 'saveTensors', 'tensors["a"]', 'a Tensor');
  t.dispose();
  await assertThrows(() => saveTensors(file('x.safetensors'), { a: t }), 'saveTensors', 'a live Tensor', 'disposed');
  await assertThrows(() => loadTensors(file('missing.safetensors')), 'readSafetensors', 'missing.safetensors');
  const p = file('dev.safetensors');
  writeSafetensors(p, { a: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
  await assertThrows(() => loadTensors(p, { device: 'tpu' }), 'device', 'tpu');
});

io('bf16 bits <-> f32 against the IEEE definitions', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f = bf16BitsToF32(all);
  for (let i = 0; i < 65536; i++) {
    const want = bf16Value(i);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(f[i]), `NaN ${i}`);
    else assert.ok(Object.is(f[i], want), `bf16 0x${i.toString(16)}: ${f[i]} vs ${want}`);
  }
  // Widened values come back as the same bits, NaN payloads included.
  assert.equal(Array.from(widenedF32ToBf16Bits(f)), Array.from(all));
  assert.throws(() => widenedF32ToBf16Bits(new Float32Array([1 + 2 ** -20])), /not a bf16 value/);
  // Rounding arbitrary f32 values: nearest, ties to even.
  const r = rng();
  const x = r.normals(4000, 10);
  x[0] = 1 + 2 ** -8; // exact tie between 1 and 1 + 2^-7: to even (1)
  x[1] = 1 + 3 * 2 ** -8; // tie: to even (1 + 2^-6)
  x[2] = 3.4e38; // rounds up past the largest bf16 to infinity
  x[3] = 1e-40; // f32 subnormal
  const rb = bf16BitsToF32(f32ToBf16Bits(x));
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(rb[i], nearestBf16(x[i])), `${x[i]} -> ${rb[i]}, want ${nearestBf16(x[i])}`);
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(new Float32Array([NaN])))[0]));
  // An f32 NaN whose payload is only in the low half stays NaN (truncation would make it infinity).
  const lowNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer);
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(lowNaN))[0]));
});

io('f16 bits -> f32 against the IEEE definition, all 65536 patterns', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f = f16BitsToF32(all);
  for (let i = 0; i < 65536; i++) {
    const want = f16Value(i);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(f[i]), `NaN ${i}`);
    else assert.ok(Object.is(f[i], want), `f16 0x${i.toString(16)}: ${f[i]} vs ${want}`);
  }
});

io('loadTensors rejects a corrupt file (validated before any tensor is created)', async () => {
  const bytes = serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
  const p = file('cut.safetensors');
  fs.writeFileSync(p, bytes.subarray(0, bytes.length - 1));
  await assertThrows(() => loadTensors(p), 'truncated');
});

io.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
io.run();
