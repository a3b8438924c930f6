/**
 * Casts between f32 and bf16 (the native copy across dtypes; every autocast pass casts each f32
 * master weight with it) against the float64 references of test/reference/halfFloat.ts: nearest-even
 * rounding with exact ties, signed zeros, subnormals, overflow to infinity, NaN kept NaN, every raw
 * bf16 pattern widened exactly, on sizes around the vector widths and across the threads' chunks,
 * outputs poisoned. Re-run at every lower CPU level.
 */
import * as assert from 'uvu/assert';

import { Tensor } from '../lib/index';
import { cpuLevelSuite } from './cpuLevels';
import { deviceSuites } from './helpers/devices';
import { rng } from './helpers/random';
import { bf16Value, nearestBf16 } from './reference/halfFloat';

const SIZES = [1, 7, 15, 16, 17, 33, 70001];

/** f32 values built to hit the rounding rules: ties both ways, near-ties, specials, extremes. */
function awkwardF32(n: number, r: ReturnType<typeof rng>): Float32Array {
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const hi = r.int(0, 0x10000) << 16;
    switch (i % 8) {
      case 0: bits[i] = hi | 0x8000; break;                     // an exact tie: rounds to the even neighbour
      case 1: bits[i] = hi | (0x8000 + r.int(-2, 3)); break;    // just around the tie
      case 2: bits[i] = hi | r.int(0, 0x10000); break;           // anything, NaN and infinity patterns included
      case 3: bits[i] = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x7f7fffff, 0x00000001][r.int(0, 8)]; break;
      default: bits[i] = new Uint32Array(Float32Array.of(r.normal() * 10 ** r.int(-3, 4)).buffer)[0];
    }
  }
  return new Float32Array(bits.buffer);
}

deviceSuites('f32 <-> bf16 casts', (test, device) => {
  test('f32 -> bf16 rounds to nearest even (ties, specials, subnormals, overflow) like the float64 reference', async () => {
    const r = rng();
    for (const n of SIZES) {
      const x = awkwardF32(n, r);
      const t = Tensor.from(x, [n], { device });
      const b = t.cast('bf16');
      const got = await b.toArray();
      for (let i = 0; i < n; i++) {
        const want = nearestBf16(x[i]);
        if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]), `n=${n} [${i}]: NaN ${x[i]} stays NaN, got ${got[i]}`);
        else assert.ok(Object.is(got[i], want), `n=${n} [${i}]: ${x[i]} -> ${want}, got ${got[i]}`);
      }
      t.dispose();
      b.dispose();
    }
  });

  test('bf16 -> f32 widens every bit pattern exactly', async () => {
    const r = rng();
    for (const n of SIZES) {
      const bits = Uint16Array.from({ length: n }, (_, i) => (n >= 65536 ? i : r.int(0, 0x10000)));
      const b = Tensor.from(bits, [n], { dtype: 'bf16', device });
      const f = b.cast('f32');
      const got = await f.toArray();
      for (let i = 0; i < n; i++) {
        const want = bf16Value(bits[i]);
        if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]), `n=${n} [${i}]: bits ${bits[i].toString(16)} are NaN, got ${got[i]}`);
        else assert.ok(Object.is(got[i], want), `n=${n} [${i}]: bits ${bits[i].toString(16)} -> ${want}, got ${got[i]}`);
      }
      b.dispose();
      f.dispose();
    }
  });
});

cpuLevelSuite('f32 <-> bf16 casts', __filename);
