"""PyTorch twin of benchmarks/generate.ts: the same GPT (GPT-2's block: pre-LayerNorm, tanh GELU MLP,
causal attention, tied head, learned positions) loaded from the weights ours wrote, decoding greedily
from the same prompts, with its own KV cache (the past_key_values a PyTorch user writes: per layer the
keys and values so far, torch.cat one step on) or without one (the whole window recomputed each token).
The first forward pass over the prompt is the prefill, timed apart; each later token is one step.
Prints one JSON line.

run_case and timed_decode serve gpu_generate_torch.py too.

Usage (through benchmarks/peer.ts runPeer): python3 generate_torch.py '{"jobDir": DIR}', DIR holding
job.json ({model, cases: [{batch, cache, newTokens}], promptLength}), weights.safetensors and
prompts.bin (int32 [rows, promptLength]; a case of batch B takes the first B rows).
"""
import json
import os
import sys
import time

import numpy as np
import torch

from gpt_torch import GPT, read_safetensors


def timed_decode(B, N, prefill, step):
    """Greedy decoding of N tokens for B rows: prefill() returns the first ids [B] (a tensor), step(ids)
    the next ones. The prefill is timed apart; each step's time includes reading its ids back to Python,
    as a generation loop needs. Returns a DecodeResult (benchmarks/decodeBench.ts): prefillMs, stepMs
    (median), tokensPerSec and the tokens [B][N]."""
    t0 = time.perf_counter()
    nxt = prefill()
    tokens = [nxt.tolist()]
    prefill_s = time.perf_counter() - t0
    steps = []
    for _ in range(N - 1):
        t0 = time.perf_counter()
        nxt = step(nxt)
        nxt_list = nxt.tolist()
        steps.append(time.perf_counter() - t0)
        tokens.append(nxt_list)
    med = float(np.median(steps))
    return {'prefillMs': 1000 * prefill_s, 'stepMs': 1000 * med, 'tokensPerSec': B / med,
            'tokens': [[t[b] for t in tokens] for b in range(B)]}


def run_case(model, prompts, case, device='cpu'):
    """Greedy decoding of case['newTokens'] tokens after the first case['batch'] prompts (int32 numpy
    [rows, P]) on `device`, with past_key_values or (case['cache'] false) the whole window recomputed
    each token; the model's dtype is the compute dtype. Returns timed_decode's result."""
    B, N = case['batch'], case['newTokens']
    idx = torch.from_numpy(prompts[:B]).long().to(device)
    past = None

    def prefill():
        nonlocal past
        logits, past = model(idx)
        return logits.argmax(dim=-1)

    def step(nxt):
        nonlocal idx, past
        if case['cache']:
            logits, past = model(nxt.view(B, 1), past)
        else:
            idx = torch.cat([idx, nxt.view(B, 1)], dim=1)
            logits, _ = model(idx)
        return logits.argmax(dim=-1)

    with torch.inference_mode():
        return timed_decode(B, N, prefill, step)


def main():
    job_dir = json.loads(sys.argv[1])['jobDir']
    job = json.load(open(os.path.join(job_dir, 'job.json')))
    torch.set_num_threads(int(os.environ.get('GLM_BENCH_THREADS', '2')))
    c, P = job['model'], job['promptLength']
    prompts = np.fromfile(os.path.join(job_dir, 'prompts.bin'), dtype='<i4').reshape(-1, P)
    model = GPT(c)
    model.load_ours(read_safetensors(os.path.join(job_dir, 'weights.safetensors')))
    model.eval()
    for batch in (1, 8):  # warm-up at both batch sizes: first-touch allocations (as generate.ts)
        run_case(model, prompts, {'batch': batch, 'cache': True, 'newTokens': 3})
    results = [run_case(model, prompts, case) for case in job['cases']]
    print(json.dumps({'version': torch.__version__, 'results': results}))


if __name__ == '__main__':
    main()
