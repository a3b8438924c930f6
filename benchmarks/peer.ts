/**
 * Runs the PyTorch twin of a benchmark in the same run, set up at its best on this machine: Debian's
 * python3-torch with OpenBLAS-openmp (LD_LIBRARY_PATH) and 2 threads (torch.set_num_threads), so two
 * thread pools do not fight over the cores. Returns the twin's JSON, or null (with the reason) when
 * torch is not installed. With `{ gpu: true }` (the CUDA twins) it takes the python3 on PATH first (on
 * the GPU machine that is the one with a CUDA PyTorch; GLM_BENCH_PYTHON overrides it), requires
 * torch.cuda.is_available() and leaves the OpenBLAS setup out.
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

function cpuHasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

/** The python interpreter that has torch (with CUDA for `gpu`): Debian's (/usr/bin/python3) first on CPU. */
function python(gpu: boolean): string {
  const candidates = gpu
    ? [process.env.GLM_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)
    : ['/usr/bin/python3', 'python3'];
  const probe = gpu ? 'import torch; assert torch.cuda.is_available()' : 'import torch';
  for (const p of candidates) {
    const r = spawnSync(p, ['-c', probe], { stdio: 'ignore' });
    if (r.status === 0) return p;
  }
  return '';
}

export function runPeer<T>(
  script: string,
  config: unknown,
  threads = Math.min(2, os.cpus().length),
  opts: { gpu?: boolean } = {},
): PeerResult<T> {
  const gpu = opts.gpu ?? false;
  const py = python(gpu);
  if (!py)
    return {
      results: null,
      version: '',
      reason: gpu
        ? 'no python3 with a CUDA PyTorch (set GLM_BENCH_PYTHON)'
        : 'PyTorch not installed (apt-get install -y python3-torch python3-numpy libopenblas0-openmp)',
    };
  const env: NodeJS.ProcessEnv = { ...process.env, GLM_BENCH_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  if (!gpu && fs.existsSync(OPENBLAS_DIR)) env.LD_LIBRARY_PATH = [OPENBLAS_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  // Debian's OpenBLAS 0.3.21 does not recognise this machine's Xeon ("Core not found") and then runs a
  // GEMM at ~40 GFLOP/s; told it is a SkylakeX it uses its AVX-512 kernels (~200-240 GFLOP/s on 2 threads).
  // Torch at its best is the fair peer, so name the core unless the caller already did.
  if (!gpu && !env.OPENBLAS_CORETYPE && os.cpus()[0]?.model && cpuHasAvx512()) {
    env.OPENBLAS_CORETYPE = 'SkylakeX';
    delete env.OPENBLAS_L2_SIZE;
  }
  const r = spawnSync(py, [path.join(__dirname, script), JSON.stringify(config)], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return { results: null, version: '', reason: `the PyTorch twin failed: ${r.stderr.slice(-2000)}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { results: out.results as T, version: out.version, reason: '' };
}
