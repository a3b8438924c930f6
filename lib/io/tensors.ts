/**
 * Saving and loading our Tensor class to and from safetensors files (model weights, optimizer
 * state). Dtypes map f32 <-> F32, i32 <-> I32 and bf16 <-> BF16 with the raw bits kept exactly.
 */
import { GlmError, argError, describe } from '../errors';
import { Tensor } from '../tensor';
import type { DType } from '../dtype';
import { widenedF32ToBf16Bits, f16BitsToF32 } from './bf16';
import {
  HostData,
  LazyHostTensor,
  LazyHostTensorSync,
  SafetensorsDType,
  SafetensorsMetadata,
  readSafetensors,
  writeSafetensors,
  writeSafetensorsStreaming,
} from './safetensors';

const TO_FILE: Record<DType, SafetensorsDType> = { f32: 'F32', bf16: 'BF16', i32: 'I32' };

function checkTensors(op: string, tensors: unknown): [string, Tensor][] {
  if (tensors === null || typeof tensors !== 'object') throw argError(op, 'tensors', 'an object of name -> Tensor', describe(tensors));
  const entries = Object.entries(tensors as Record<string, unknown>);
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw argError(op, `tensors["${name}"]`, 'a Tensor', describe(t));
    if (t.disposed) throw argError(op, `tensors["${name}"]`, 'a live Tensor', t.describe());
  }
  return entries as [string, Tensor][];
}

/** File data of a tensor from what toArray gives (bf16 arrives widened to f32). */
function fileData(op: string, t: Tensor, values: Float32Array | Int32Array): HostData {
  return t.dtype === 'bf16' ? widenedF32ToBf16Bits(values as Float32Array, op) : values;
}

/**
 * Writes tensors (on any device) to a safetensors file, atomically. Each tensor is read from its
 * device only when its turn comes, so the host holds one tensor at a time.
 *
 * bf16 tensors are stored as BF16 with their exact bits: the native read gives bf16 values
 * widened to f32 (exact), and the top half of each widened word is the original bf16 word.
 * Await it before changing the tensors (a step that overwrites them in place would race the read).
 */
export async function saveTensors(path: string, tensors: Record<string, Tensor>, metadata?: SafetensorsMetadata): Promise<void> {
  const op = 'saveTensors';
  const specs: Record<string, LazyHostTensor> = {};
  for (const [name, t] of checkTensors(op, tensors)) {
    specs[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data: async () => fileData(op, t, await t.toArray()) };
  }
  await writeSafetensorsStreaming(path, specs, metadata);
}

/**
 * Blocking twin of saveTensors (reads each tensor with toArraySync, which waits for its device on
 * the JS thread), for callers whose file writers must be synchronous, e.g. a checkpoint commit.
 */
export function saveTensorsSync(path: string, tensors: Record<string, Tensor>, metadata?: SafetensorsMetadata): void {
  const op = 'saveTensorsSync';
  const specs: Record<string, LazyHostTensorSync> = {};
  for (const [name, t] of checkTensors(op, tensors)) {
    specs[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data: () => fileData(op, t, t.toArraySync()) };
  }
  writeSafetensors(path, specs, metadata);
}

/** Options of loadTensors. */
export interface LoadTensorsOptions {
  /** "cpu" (default), "cuda", "cuda:N". */
  device?: string;
}

/** What loadTensors returns. */
export interface LoadedTensors {
  tensors: Record<string, Tensor>;
  metadata: SafetensorsMetadata;
}

/**
 * Reads a safetensors file into Tensors on `device`. F32 -> f32, BF16 -> bf16 (bits exact),
 * I32 -> i32; for files written elsewhere, F16 -> f32 (exact widening), U8 -> i32 and I64 -> i32
 * (an error names the tensor and index of a value outside the int32 range). The file is fully
 * validated before any tensor is created; if creating one fails, those already made are freed.
 */
export function loadTensors(path: string, options: LoadTensorsOptions = {}): LoadedTensors {
  const op = 'loadTensors';
  if (options === null || typeof options !== 'object') throw argError(op, 'options', 'an object {device?}', describe(options));
  const device = options.device ?? 'cpu';
  const file = readSafetensors(path);
  const converted: [string, { data: Float32Array | Int32Array | Uint16Array; shape: number[]; dtype: DType }][] = [];
  for (const [name, t] of Object.entries(file.tensors)) {
    switch (t.dtype) {
      case 'F32': converted.push([name, { data: t.data as Float32Array, shape: t.shape, dtype: 'f32' }]); break;
      case 'BF16': converted.push([name, { data: t.data as Uint16Array, shape: t.shape, dtype: 'bf16' }]); break;
      case 'I32': converted.push([name, { data: t.data as Int32Array, shape: t.shape, dtype: 'i32' }]); break;
      case 'F16': converted.push([name, { data: f16BitsToF32(t.data as Uint16Array), shape: t.shape, dtype: 'f32' }]); break;
      case 'U8': converted.push([name, { data: Int32Array.from(t.data as Uint8Array), shape: t.shape, dtype: 'i32' }]); break;
      case 'I64': {
        const src = t.data as BigInt64Array;
        const out = new Int32Array(src.length);
        for (let i = 0; i < src.length; i++) {
          const v = src[i];
          if (v > 2147483647n || v < -2147483648n) {
            throw new GlmError(op, `'${path}': tensor '${name}': I64 value ${v} at index ${i} does not fit in i32`);
          }
          out[i] = Number(v);
        }
        converted.push([name, { data: out, shape: t.shape, dtype: 'i32' }]);
        break;
      }
    }
  }
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, c] of converted) tensors[name] = Tensor.from(c.data, c.shape, { dtype: c.dtype, device });
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata: file.metadata };
}
