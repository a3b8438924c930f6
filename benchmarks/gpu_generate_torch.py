"""PyTorch twin of benchmarks/gpu-generate.ts: the same GPT (gpt_torch.GPT, F.scaled_dot_product_attention
where this torch has it) loaded from the weights ours wrote, cast to bf16 (the weights too, as a PyTorch
user runs inference) or kept f32, decoding greedily from the same prompts in up to three ways:

  eager   past_key_values grown by torch.cat each step (Hugging Face's form; generate_torch.run_case)
  graphs  a static KV cache written in place and the one-token step captured once in a CUDA graph and
          replayed (gpt-fast's form; CUDA only): PyTorch with its launch overhead removed
  static  the same static cache without the graph, for checking that path where there is no CUDA

Each variant's failure is reported in its place, not fatal. Prints one JSON line.

Usage (through benchmarks/peer.ts runPeer): python3 gpu_generate_torch.py '{"jobDir": DIR}', DIR holding
job.json ({model, cases: [{batch, cache, newTokens}], promptLength, device, autocast: 'bf16'|'none',
variants: [...]}), weights.safetensors and prompts.bin (int32 [rows, promptLength]).
"""
import json
import os
import sys

import numpy as np
import torch

from generate_torch import run_case, timed_decode
from gpt_torch import GPT, HAS_SDPA, StaticCache, read_safetensors


def run_case_static(model, c, prompts, case, device, graph):
    """run_case with a StaticCache of the final length; with `graph`, each one-token step is a CUDA graph
    replay. The graph is captured before the prefill (two warm-up steps on a side stream first, as
    torch.cuda.graphs asks): its steps write position P's keys and values, which the first real step
    rewrites."""
    B, N = case['batch'], case['newTokens']
    P = prompts.shape[1]
    cache = StaticCache(c, B, P + N, next(model.parameters()).dtype, device)
    tok = torch.zeros(B, 1, dtype=torch.long, device=device)
    pos = torch.full((1,), P, dtype=torch.long, device=device)
    one_step = lambda: model(tok, static=(cache, pos))[0].argmax(dim=-1)
    with torch.no_grad():
        run = one_step
        if graph:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    one_step()
            torch.cuda.current_stream().wait_stream(side)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                out = one_step()
            run = lambda: (g.replay(), out)[1]
        written = P  # positions the cache holds

        def prefill():
            logits, _ = model(torch.from_numpy(prompts[:B]).long().to(device), static=(cache, torch.arange(P, device=device)))
            return logits.argmax(dim=-1)

        def step(nxt):
            nonlocal written
            tok.copy_(nxt.view(B, 1))
            pos.fill_(written)
            written += 1
            return run()

        return timed_decode(B, N, prefill, step)


def main():
    job_dir = json.loads(sys.argv[1])['jobDir']
    job = json.load(open(os.path.join(job_dir, 'job.json')))
    torch.set_num_threads(int(os.environ.get('GLM_BENCH_THREADS', '2')))
    c, P, device = job['model'], job['promptLength'], job['device']
    cuda = device.startswith('cuda')
    prompts = np.fromfile(os.path.join(job_dir, 'prompts.bin'), dtype='<i4').reshape(-1, P)
    model = GPT(c, sdpa=True)
    model.load_ours(read_safetensors(os.path.join(job_dir, 'weights.safetensors')))
    model.to(device=device, dtype=torch.bfloat16 if job['autocast'] == 'bf16' else torch.float32)
    model.eval()
    runners = {
        'eager': lambda case: run_case(model, prompts, case, device),
        'graphs': lambda case: run_case_static(model, c, prompts, case, device, graph=True),
        'static': lambda case: run_case_static(model, c, prompts, case, device, graph=False),
    }
    variants = {}
    for name in job['variants']:
        if name == 'graphs' and not cuda:
            variants[name] = {'error': 'CUDA graphs need a CUDA device'}
            continue
        try:
            runners[name]({'batch': 1, 'cache': True, 'newTokens': 3})  # warm-up: first-touch allocations
            variants[name] = [runners[name](case) if case['cache'] or name == 'eager' else None for case in job['cases']]
        except Exception as e:  # noqa: BLE001: one variant failing must not hide the others
            variants[name] = {'error': (str(e).splitlines() or [type(e).__name__])[0][:500]}
        if cuda:
            torch.cuda.empty_cache()
    print(json.dumps({'version': torch.__version__, 'results': {
        'device': torch.cuda.get_device_name(0) if cuda else 'cpu', 'attention': 'sdpa' if HAS_SDPA else 'matmul-softmax',
        'dtype': 'bf16' if job['autocast'] == 'bf16' else 'f32', 'variants': variants,
    }}))


if __name__ == '__main__':
    main()
