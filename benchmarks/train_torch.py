"""PyTorch twin of benchmarks/train-vs-torch.ts: the same GPT (nanoGPT's model: pre-LayerNorm blocks,
tanh GELU MLP, causal attention, tied head, learned positions), started from the same initial weights,
trained on the same batches with the same AdamW, schedule and clipping. Prints one JSON line.

Its helpers (read_windows, param_groups, lr_at) serve gpu_train_torch.py too.

Usage (through benchmarks/peer.ts runPeer): python3 train_torch.py '{"jobDir": DIR}', DIR holding job.json,
init.safetensors, train.bin ([steps, B, T+1] int32) and val.bin ([n, B, T+1] int32).
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch

from gpt_torch import GPT, read_safetensors


def read_windows(job_dir, name, B, T):
    """A windows file of benchmarks/trainBench.ts: int32 [n, B, T+1] (T inputs, then the last target)."""
    return np.fromfile(os.path.join(job_dir, name), dtype='<i4').reshape(-1, B, T + 1)


def param_groups(model, weight_decay):
    """Our AdamW groups (lib/models/gptParams.ts): decay on matrices but the embeddings, none on the rest."""
    decays = lambda n, p: p.dim() >= 2 and not n.startswith(('wte', 'wpe'))
    decay = [p for n, p in model.named_parameters() if decays(n, p)]
    no_decay = [p for n, p in model.named_parameters() if not decays(n, p)]
    return [{'params': decay, 'weight_decay': weight_decay}, {'params': no_decay, 'weight_decay': 0.0}]


def lr_at(s, steps, step):
    """lib/optim/schedule.ts cosineWithWarmup at a 0-based step: s holds lr, minLr, warmupSteps."""
    if step < s['warmupSteps']:
        return s['lr'] * (step + 1) / s['warmupSteps']
    if step >= steps:
        return s['minLr']
    r = (step - s['warmupSteps']) / (steps - s['warmupSteps'])
    return s['minLr'] + 0.5 * (1 + math.cos(math.pi * r)) * (s['lr'] - s['minLr'])


def main():
    job_dir = json.loads(sys.argv[1])['jobDir']
    job = json.load(open(os.path.join(job_dir, 'job.json')))
    torch.set_num_threads(int(os.environ.get('GLM_BENCH_THREADS', '2')))
    torch.manual_seed(0)
    c, s = job['model'], job['train']
    B, T, steps = s['batchSize'], c['blockSize'], job['steps']
    train = read_windows(job_dir, 'train.bin', B, T)
    val = read_windows(job_dir, 'val.bin', B, T)
    model = GPT(c)
    model.load_ours(read_safetensors(os.path.join(job_dir, 'init.safetensors')))
    opt = torch.optim.AdamW(param_groups(model, s['weightDecay']), lr=s['lr'], betas=(s['beta1'], s['beta2']), eps=1e-8)

    def evaluate():
        model.eval()
        with torch.no_grad():
            tot = sum(model.loss(torch.from_numpy(b[:, :-1]).long(), torch.from_numpy(b[:, 1:]).long()).item() for b in val)
        model.train()
        return tot / len(val)

    losses, times = [], []
    for step in range(steps):
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g['lr'] = lr_at(s, steps, step)
        batch = torch.from_numpy(train[step]).long()
        loss = model.loss(batch[:, :-1], batch[:, 1:])
        loss.backward()
        if s['gradClip'] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), s['gradClip'])
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    warm = times[min(job.get('warmupSteps', 3), len(times) - 1):]
    print(json.dumps({'version': torch.__version__, 'results': {
        'losses': losses, 'valLoss': evaluate(),
        'stepMs': 1000 * float(np.median(warm)), 'tokensPerSec': B * T / float(np.median(warm)),
    }}))


if __name__ == '__main__':
    main()
