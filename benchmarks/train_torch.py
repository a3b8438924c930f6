"""PyTorch twin of benchmarks/train-vs-torch.ts: the same GPT (nanoGPT's model: pre-LayerNorm blocks,
tanh GELU MLP, causal attention, tied head, learned positions), started from the same initial weights,
trained on the same batches with the same AdamW, schedule and clipping. Prints one JSON line.

Usage (through benchmarks/peer.ts runPeer): python3 train_torch.py '{"jobDir": DIR}', DIR holding job.json,
init.safetensors, train.bin ([steps, B, T+1] int32) and val.bin ([n, B, T+1] int32).
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', (name, info['dtype'])
        a, b = info['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[base + a:base + b], dtype='<f4').copy()).reshape(info['shape'])
    return out


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, bias = c['nEmbd'], c['bias']
        self.n_head = c['nHead']
        self.ln_1 = nn.LayerNorm(d, elementwise_affine=True, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d, bias=bias)
        self.c_proj = nn.Linear(d, d, bias=bias)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, 4 * d, bias=bias)
        self.mlp_proj = nn.Linear(4 * d, d, bias=bias)
        if not bias:
            self.ln_1.bias = None
            self.ln_2.bias = None

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        H = self.n_head
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        # torch 1.13 has no scaled_dot_product_attention: the matmul-softmax-matmul PyTorch users write.
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float('-inf')).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))
        return x


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c['vocabSize'], c['nEmbd'])
        self.wpe = nn.Embedding(c['blockSize'], c['nEmbd'])
        self.h = nn.ModuleList([Block(c) for _ in range(c['nLayer'])])
        self.ln_f = nn.LayerNorm(c['nEmbd'], eps=1e-5)
        if not c['bias']:
            self.ln_f.bias = None

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))

    def load_ours(self, sd):
        """Maps our tensor names (GPT-2's, without the 'transformer.' prefix) onto this module."""
        own = dict(self.named_parameters())
        rename = lambda n: n.replace('.attn.c_attn.', '.c_attn.').replace('.attn.c_proj.', '.c_proj.') \
            .replace('.mlp.c_fc.', '.c_fc.').replace('.mlp.c_proj.', '.mlp_proj.')
        mapped = {rename(k): v for k, v in sd.items()}
        missing = set(own) - set(mapped)
        extra = set(mapped) - set(own)
        assert not missing and not extra, (sorted(missing), sorted(extra))
        with torch.no_grad():
            for k, p in own.items():
                assert tuple(p.shape) == tuple(mapped[k].shape), (k, p.shape, mapped[k].shape)
                p.copy_(mapped[k])


def main():
    job_dir = json.loads(sys.argv[1])['jobDir']
    job = json.load(open(os.path.join(job_dir, 'job.json')))
    torch.set_num_threads(int(os.environ.get('GLM_BENCH_THREADS', '2')))
    torch.manual_seed(0)
    c, s = job['model'], job['train']
    B, T, steps = s['batchSize'], c['blockSize'], job['steps']
    train = np.fromfile(os.path.join(job_dir, 'train.bin'), dtype='<i4').reshape(steps, B, T + 1)
    val = np.fromfile(os.path.join(job_dir, 'val.bin'), dtype='<i4').reshape(-1, B, T + 1)
    model = GPT(c)
    model.load_ours(read_safetensors(os.path.join(job_dir, 'init.safetensors')))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith(('wte', 'wpe'))]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith(('wte', 'wpe')))]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': s['weightDecay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=s['lr'], betas=(s['beta1'], s['beta2']), eps=1e-8)

    def lr_at(step):  # lib/optim/schedule.ts cosineWithWarmup, 0-based step
        if step < s['warmupSteps']:
            return s['lr'] * (step + 1) / s['warmupSteps']
        if step >= steps:
            return s['minLr']
        r = (step - s['warmupSteps']) / (steps - s['warmupSteps'])
        return s['minLr'] + 0.5 * (1 + math.cos(math.pi * r)) * (s['lr'] - s['minLr'])

    def evaluate():
        model.eval()
        with torch.no_grad():
            tot = sum(model(torch.from_numpy(b[:, :-1]).long(), torch.from_numpy(b[:, 1:]).long()).item() for b in val)
        model.train()
        return tot / len(val)

    losses, times = [], []
    for step in range(steps):
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        batch = torch.from_numpy(train[step]).long()
        loss = model(batch[:, :-1], batch[:, 1:])
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
