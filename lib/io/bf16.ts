/**
 * Bit-level conversions between f32, bf16 and f16 on the host, for file formats that store the
 * 16-bit types as raw bits. They match the native side (native/core/dtype.h): bf16 rounding is
 * to nearest-even and a NaN stays a (quiet) NaN.
 */
import { GlmError } from '../errors';

/** bf16 bits of each f32 value, rounded to nearest-even (as the native f32ToBf16). */
export function f32ToBf16Bits(values: Float32Array): Uint16Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    // A NaN's payload may sit in the low half only; forcing the quiet bit keeps it a NaN.
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x40;
    else out[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/**
 * bf16 bits of f32 values that are already bf16 values widened (what Tensor.toArray gives for a
 * bf16 tensor): the top half of each word, exactly, NaN payloads included. Throws when a value
 * has low bits set, i.e. is not a widened bf16.
 */
export function widenedF32ToBf16Bits(values: Float32Array, op = 'widenedF32ToBf16Bits'): Uint16Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    if ((x & 0xffff) !== 0) {
      throw new GlmError(op, `value ${values[i]} at index ${i} is not a bf16 value (low bits 0x${(x & 0xffff).toString(16)})`);
    }
    out[i] = x >>> 16;
  }
  return out;
}

/** f32 values of bf16 bits (exact). */
export function bf16BitsToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

/** f32 values of IEEE half-precision bits (exact: every f16 value is an f32 value). */
export function f16BitsToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0x1f) {
      u[i] = sign | 0x7f800000 | (man << 13); // inf or NaN, payload kept
    } else if (exp !== 0) {
      u[i] = sign | ((exp + 112) << 23) | (man << 13); // rebias 15 -> 127
    } else if (man === 0) {
      u[i] = sign; // signed zero
    } else {
      // Subnormal: man * 2^-24, exact in f32.
      out[i] = (sign ? -1 : 1) * man * 2 ** -24;
    }
  }
  return out;
}
