/**
 * Runs a test file again in child processes, once per CPU level below this machine's
 * (GLM_CPU_LEVEL is read once per process), so that the scalar and AVX2 paths of the kernels are
 * checked on an AVX-512 machine too.
 */
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { buildInfo } from '../lib/index';

const LEVELS = ['scalar', 'avx2', 'avx512'] as const;

/** True inside a child started by cpuLevelSuite: the file's tests run at a capped level. */
export const isLevelChild = process.env.GLM_TEST_LEVEL_CHILD === '1';

/** Adds a suite that re-runs `file` at every lower CPU level (or, in a child, checks the level). */
export function cpuLevelSuite(name: string, file: string): void {
  const s = suite(`${name} [cpu levels]`);
  const machine = buildInfo().cpuLevel;
  if (isLevelChild) {
    s(`the kernels run at GLM_CPU_LEVEL=${process.env.GLM_CPU_LEVEL}`, () => {
      assert.is(machine, process.env.GLM_CPU_LEVEL, 'the child did not get the level it was started for');
    });
  } else {
    const lower = LEVELS.slice(0, LEVELS.indexOf(machine));
    if (lower.length === 0) console.log(`  [cpu levels] this CPU only has the ${machine} path: nothing lower to test`);
    for (const level of lower) {
      s(`all tests again with GLM_CPU_LEVEL=${level} (child process)`, () => {
        const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
          env: { ...process.env, GLM_CPU_LEVEL: level, GLM_TEST_LEVEL_CHILD: '1', FORCE_COLOR: '0', NO_COLOR: '1' },
          encoding: 'utf8',
          timeout: 10 * 60 * 1000,
        });
        if (r.status !== 0)
          assert.unreachable(`the child at ${level} failed (status ${r.status}, ${r.error ?? ''}):\n${(r.stdout + r.stderr).slice(-6000)}`);
      });
    }
  }
  s.run();
}
