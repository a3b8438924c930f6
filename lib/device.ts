/** Devices, memory statistics and the CPU thread pool. */
import { normalizeDevice } from './dtype';
import { argError, describe } from './errors';
import { BuildInfo, DeviceInfo, MemoryStats, native } from './native';

/** The CPU and every usable CUDA device (none, silently, on a machine without GPU or driver). */
export function devices(): DeviceInfo[] {
  return native().devices();
}

/** Allocated and reserved bytes of a device's caching allocator. */
export function memory(device = 'cpu'): MemoryStats {
  const d = typeof device === 'string' ? normalizeDevice(device) : null;
  if (!d) throw argError('memory', 'device', '"cpu", "cuda" or "cuda:N"', describe(device));
  return native().memory(d);
}

/** Returns a device's cached free blocks to the system. */
export function emptyCache(device = 'cpu'): void {
  const d = typeof device === 'string' ? normalizeDevice(device) : null;
  if (!d) throw argError('emptyCache', 'device', '"cpu", "cuda" or "cuda:N"', describe(device));
  native().emptyCache(d);
}

/** Blocks until every op submitted to the device (all devices when omitted) has run. */
export function synchronize(device?: string): void {
  native().synchronize(device === undefined ? undefined : normalizeDevice(device) ?? device);
}

/** True when a CUDA device can be used. */
export function cudaAvailable(): boolean {
  return native().buildInfo().cudaDevices > 0;
}

/** How the addon was built and what this machine offers it. */
export function buildInfo(): BuildInfo {
  return native().buildInfo();
}

/** Threads of the CPU pool (GLM_NUM_THREADS, default: the number of cores). */
export function numThreads(): number {
  return native().numThreads();
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw argError('setNumThreads', 'n', 'an integer in [1, 1024]', describe(n));
  native().setNumThreads(n);
}
