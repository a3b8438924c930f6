/**
 * Loads the native addon (build/Release first, then the prebuilt binary for this platform) and
 * describes the functions every layer above shares. Op families declare their own native functions
 * next to their TypeScript wrappers.
 */
import * as path from 'node:path';

/** The opaque native handle behind a Tensor. */
export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: 'f32' | 'bf16' | 'i32';
  readonly device: string | null;
  readonly disposed: boolean;
  readonly nbytes: number;
  dispose(): void;
}

export interface MemoryStats {
  /** Bytes in blocks handed out to live tensors (rounded to the allocator's size classes). */
  allocated: number;
  /** Bytes held from the system: allocated plus cached free blocks. */
  reserved: number;
  peakAllocated: number;
  allocCount: number;
  systemAllocCount: number;
}

export interface DeviceInfo {
  name: string;
  type: 'cpu' | 'cuda';
  description: string;
  threads?: number;
  totalMemory?: number;
  computeCapability?: string;
  multiprocessors?: number;
}

export interface BuildInfo {
  cuda: boolean;
  cudaDevices: number;
  cudaUnavailableReason: string;
  cudaArchitectures: string;
  cpuFeatures: string;
  cpuLevel: 'scalar' | 'avx2' | 'avx512';
  napiVersion: number;
}

/** Core functions of the addon: tensor lifetime, data movement, devices. */
export interface NativeCore {
  empty(shape: number[], dtype: string, device: string): NativeTensor;
  /** empty() then every element set to value, in one call. */
  full(shape: number[], dtype: string, device: string, value: number): NativeTensor;
  fromData(data: Float32Array | Int32Array | Uint16Array, shape: number[], dtype: string, device: string): NativeTensor;
  read(t: NativeTensor): Promise<ArrayBuffer>;
  readSync(t: NativeTensor): ArrayBuffer;
  view(t: NativeTensor, shape: number[], offset: number): NativeTensor;
  copy(dst: NativeTensor, src: NativeTensor): void;
  fill(dst: NativeTensor, value: number): void;
  synchronize(device?: string): void;
  devices(): DeviceInfo[];
  memory(device: string): MemoryStats;
  emptyCache(device: string): void;
  numThreads(): number;
  setNumThreads(n: number): void;
  setPoison(device: string, on: boolean): void;
  buildInfo(): BuildInfo;
}

let cached: unknown = null;

/** The package root: lib/ under tsx, dist/ once compiled; both sit one level below it. */
export const packageRoot = path.resolve(__dirname, '..');

/** Returns the loaded addon, typed as the caller's slice of it. */
export function native<T = NativeCore>(): T & NativeCore {
  if (cached) return cached as T & NativeCore;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const load = require('node-gyp-build') as (dir: string) => unknown;
    cached = load(packageRoot);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `glm-native: the native addon could not be loaded (${reason}).\n` +
        'Possible solutions:\n' +
        '  - rebuild it from source: npm run build:native (needs cmake and a C++17 compiler; nvcc for CUDA)\n' +
        '  - check that this platform has a prebuilt binary (linux-x64 glibc >= 2.34) under prebuilds/\n' +
        `  - package root searched: ${packageRoot}`,
    );
  }
  return cached as T & NativeCore;
}
