/**
 * Runs the PyTorch twin of a benchmark in the same run, set up at its best on this machine: Debian's
 * python3-torch with OpenBLAS-openmp (LD_LIBRARY_PATH) and 2 threads (torch.set_num_threads), so two
 * thread pools do not fight over the cores. Returns the twin's JSON, or null (with the reason) when
 * torch is not installed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PeerResult<T> {
  results: T | null;
  reason: string;
  version: string;
}

const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

/** The python interpreter that has torch: Debian's (/usr/bin/python3) first. */
function python(): string {
  for (const p of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return p;
  }
  return '';
}

export function runPeer<T>(script: string, config: unknown, threads = Math.min(2, os.cpus().length)): PeerResult<T> {
  const py = python();
  if (!py)
    return {
      results: null,
      version: '',
      reason: 'PyTorch not installed (apt-get install -y python3-torch python3-numpy libopenblas0-openmp)',
    };
  const env: NodeJS.ProcessEnv = { ...process.env, GLM_BENCH_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  if (fs.existsSync(OPENBLAS_DIR)) env.LD_LIBRARY_PATH = [OPENBLAS_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const r = spawnSync(py, [path.join(__dirname, script), JSON.stringify(config)], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return { results: null, version: '', reason: `the PyTorch twin failed: ${r.stderr.slice(-2000)}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { results: out.results as T, version: out.version, reason: '' };
}
