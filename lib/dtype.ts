/** Element types and devices as the public API names them. */
export type DType = 'f32' | 'bf16' | 'i32';
export const DTYPES: readonly DType[] = ['f32', 'bf16', 'i32'];

/** "cpu", "cuda" (= "cuda:0") or "cuda:N". */
export type DeviceName = string;

/** Normalises a device name ("cuda" -> "cuda:0"); returns null for anything that is not one. */
export function normalizeDevice(device: string): string | null {
  if (device === 'cpu') return 'cpu';
  if (device === 'cuda') return 'cuda:0';
  return /^cuda:\d{1,4}$/.test(device) ? device : null;
}
