/**
 * Device-generic tests: write a test once, run it on every device. On a machine without a GPU the
 * CUDA variants are registered as skipped and the reason is printed once.
 */
import { suite, Test } from 'uvu';

import * as glm from '../../lib/index';
import { native } from '../../lib/native';

export const DEVICES = ['cpu', 'cuda:0'] as const;

const info = glm.buildInfo();
const cudaReason = info.cudaDevices > 0 ? '' : info.cuda ? 'no CUDA device' : 'glm-native was built without CUDA';
let reported = false;

// Poison every new allocation with NaN, so a kernel that leaves part of its output unwritten fails.
native().setPoison('cpu', true);
if (info.cudaDevices > 0) native().setPoison('cuda:0', true);

/** Whether tests should run on this device; prints why not, once, when they are skipped. */
export function deviceAvailable(device: string): boolean {
  if (device === 'cpu') return true;
  if (cudaReason && !reported) {
    reported = true;
    console.log(`  [cuda] tests skipped: ${cudaReason}`);
  }
  return !cudaReason;
}

/** Creates one uvu suite per device; `define(test, device)` adds the tests. Runs them. */
export function deviceSuites(name: string, define: (test: Test, device: string) => void): void {
  for (const device of DEVICES) {
    const s = suite(`${name} [${device}]`);
    if (deviceAvailable(device)) {
      define(s, device);
    } else {
      const noopHook = Object.assign(() => {}, { each: () => {} });
      const skipping = (title: string) => s.skip(`${title} (skipped: ${cudaReason})`, () => {});
      define(Object.assign(skipping, { skip: skipping, only: skipping, before: noopHook, after: noopHook, run: () => {} }) as unknown as Test, device);
    }
    s.run();
  }
}
