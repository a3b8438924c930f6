"""PyTorch twin of benchmarks/gpu-train.ts: the same GPT (gpt_torch.GPT with F.scaled_dot_product_attention
where this torch has it), started from the same initial weights, trained on the same batches with the
same step: micro-batches with gradient accumulation under bf16 autocast (f32 master weights), global-norm
clipping, AdamW (fused=True on CUDA, else foreach, else the default loop) on the warmup + cosine schedule.
Optionally through torch.compile (--compile on the TypeScript side); a compile that fails is reported,
not fatal. Then, if the job asks, the largest micro-batch that fits: doubling B from 2·B until CUDA runs
out of memory, each size timed over a few steps on random tokens. Prints one JSON line.

Usage (through benchmarks/peer.ts runPeer): python3 gpu_train_torch.py '{"jobDir": DIR, "compile": false}',
DIR holding job.json ({model, train: {batchSize, lr, minLr, warmupSteps, weightDecay, beta1, beta2,
gradClip}, steps, gradAccum, warmupSteps, device, autocast, maxBatch: {limit, steps} or null}),
init.safetensors and train.bin ([steps · gradAccum, B, T+1] int32, step k's micro-batches at k·gradAccum...).
"""
import contextlib
import json
import os
import sys
import time

import numpy as np
import torch

from gpt_torch import GPT, HAS_SDPA, read_safetensors
from train_torch import lr_at, param_groups, read_windows


def make_adamw(groups, s, device):
    """AdamW at its fastest here: fused on CUDA (torch 2.0 on), else foreach, else the default loop."""
    kw = dict(lr=s['lr'], betas=(s['beta1'], s['beta2']), eps=1e-8)
    if device.startswith('cuda'):
        for impl in ('fused', 'foreach'):
            try:
                return torch.optim.AdamW(groups, **{impl: True}, **kw), impl
            except (TypeError, RuntimeError, ValueError):
                pass
    return torch.optim.AdamW(groups, **kw), 'default'


def is_oom(e):
    oom = getattr(torch.cuda, 'OutOfMemoryError', None)
    return (oom is not None and isinstance(e, oom)) or 'out of memory' in str(e).lower()


class Trainer:
    """One optimizer step over a list of (x, y) micro-batches, as lib/train/trainer.ts takes it."""

    def __init__(self, model, opt, loss_fn, device, autocast, grad_clip):
        self.model, self.opt, self.loss_fn, self.device, self.grad_clip = model, opt, loss_fn, device, grad_clip
        dev_type = 'cuda' if device.startswith('cuda') else 'cpu'
        self.autocast = (lambda: torch.autocast(device_type=dev_type, dtype=torch.bfloat16)) if autocast == 'bf16' \
            else contextlib.nullcontext

    def step(self, micro):
        """micro: int32 numpy windows [n, B, T+1] (or device tensors). Returns the mean loss, read back."""
        total = None
        for w in micro:
            w = torch.as_tensor(w).to(self.device).long()
            with self.autocast():
                loss = self.loss_fn(w[:, :-1], w[:, 1:])
            (loss / len(micro) if len(micro) > 1 else loss).backward()
            total = loss.detach() if total is None else total + loss.detach()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return total.item() / len(micro)  # .item() waits for the device: the step is done


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def search_max_batch(trainer, c, B0, T, limit, steps, device):
    """The largest micro-batch B = 2·B0, 4·B0, ... <= limit whose step fits, with its median step time."""
    best, failed_at, error = None, None, ''
    B = 2 * B0
    gen = torch.Generator(device='cpu').manual_seed(7)
    while B <= limit:
        try:
            w = torch.randint(0, c['vocabSize'], (1, B, T + 1), generator=gen, dtype=torch.int32)
            times = [timed(lambda: trainer.step(w))[1] for _ in range(steps)]
        except Exception as e:  # noqa: BLE001: out of memory is the expected end; anything else is reported
            failed_at, error = B, (str(e).splitlines() or [type(e).__name__])[0][:300]
            if not is_oom(e):
                error = 'not out of memory: ' + error
            break
        med = float(np.median(times[min(2, len(times) - 1):]))
        best = {'batch': B, 'stepMs': 1000 * med, 'tokensPerSec': B * T / med}
        B *= 2
    # Outside the except block: the exception's frames (holding the failed step's tensors) are gone.
    trainer.opt.zero_grad(set_to_none=True)
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
    return {'best': best, 'failedAt': failed_at, 'error': error, 'limit': limit}


def main():
    peer = json.loads(sys.argv[1])
    job_dir, compile_ = peer['jobDir'], peer.get('compile', False)
    job = json.load(open(os.path.join(job_dir, 'job.json')))
    torch.set_num_threads(int(os.environ.get('GLM_BENCH_THREADS', '2')))
    torch.manual_seed(0)
    c, s, device = job['model'], job['train'], job['device']
    B, T, steps, accum = s['batchSize'], job['blockSize'], job['steps'], job['gradAccum']
    cuda = device.startswith('cuda')
    if cuda and job['autocast'] == 'bf16':
        torch.backends.cuda.matmul.allow_tf32 = True  # what a bf16-autocast run sets; its f32 matmuls are few
        torch.backends.cudnn.allow_tf32 = True
    train = read_windows(job_dir, 'train.bin', B, T)
    model = GPT(c, sdpa=True)
    model.load_ours(read_safetensors(os.path.join(job_dir, 'init.safetensors')))
    model.to(device)
    opt, opt_impl = make_adamw(param_groups(model, s['weightDecay']), s, device)
    loss_fn, compile_error = model.loss, ''
    if compile_:
        if hasattr(torch, 'compile'):
            loss_fn = torch.compile(model.loss)
        else:
            compile_error = f'torch {torch.__version__} has no torch.compile'
    trainer = Trainer(model, opt, loss_fn, device, job['autocast'], s['gradClip'])
    out = {'device': torch.cuda.get_device_name(0) if cuda else 'cpu', 'attention': 'sdpa' if HAS_SDPA else 'matmul-softmax',
           'optimizer': opt_impl, 'compile': compile_, 'compileError': compile_error}
    if compile_error:
        print(json.dumps({'version': torch.__version__, 'results': out}))
        return
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    losses, times = [], []
    try:
        for step in range(steps):
            for g in opt.param_groups:
                g['lr'] = lr_at(s, steps, step)
            loss, dt = timed(lambda: trainer.step(train[step * accum:(step + 1) * accum]))
            losses.append(loss)
            times.append(dt)
    except Exception as e:  # noqa: BLE001: a compile failure surfaces at the first call
        if not compile_:
            raise
        out['compileError'] = str(e).splitlines()[0][:500] if str(e) else type(e).__name__
        print(json.dumps({'version': torch.__version__, 'results': out}))
        return
    warm = times[min(job['warmupSteps'], len(times) - 1):]
    med = float(np.median(warm))
    out.update({
        'losses': losses, 'stepMs': 1000 * med, 'tokensPerSec': B * T * accum / med,
        'peakAllocatedBytes': torch.cuda.max_memory_allocated() if cuda else None,
        'peakReservedBytes': torch.cuda.max_memory_reserved() if cuda else None,
        # A compiled step would recompile for every new B: the search runs eager only.
        'maxBatch': search_max_batch(trainer, c, B, T, job['maxBatch']['limit'], job['maxBatch']['steps'], device)
        if job.get('maxBatch') and not compile_ else None,
    })
    print(json.dumps({'version': torch.__version__, 'results': out}))


if __name__ == '__main__':
    main()
