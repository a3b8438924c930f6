/** Device-memory measurements for leak tests: allocated bytes once the GC has finalized garbage tensors. */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import * as glm from '../../lib/index';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Allocated bytes on `device` after collecting garbage: earlier test files leave unreferenced tensors
 * that the GC may finalize at any time, so collect them first and compare only live allocations.
 */
export async function settledAllocated(device: string): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  glm.synchronize(device);
  return glm.memory(device).allocated;
}
