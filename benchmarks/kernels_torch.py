"""PyTorch twin of benchmarks/kernels.ts: the same cases, timed the same way (warm-up, then the
median of repeated runs), printed as one JSON line. Run by kernels.ts through peer.ts."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("GLM_BENCH_THREADS", "2")))
torch.manual_seed(0)


def timed(fn, warmup=2, warmup_ms=200, min_runs=5, min_ms=400, max_runs=2000):
    # The same rules as lib/bench/timing.ts: a count and a time-based warm-up, then samples.
    warm_start = time.perf_counter()
    i = 0
    while i < warmup or (time.perf_counter() - warm_start) * 1e3 < warmup_ms:
        fn()
        i += 1
    samples = []
    start = time.perf_counter()
    while len(samples) < min_runs or ((time.perf_counter() - start) * 1e3 < min_ms and len(samples) < max_runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    return {"medianMs": samples[len(samples) // 2], "minMs": samples[0], "runs": len(samples)}


def gemm(c):
    a = torch.randn(c["M"], c["K"])
    b = torch.randn(c["K"], c["N"])
    return timed(lambda: torch.matmul(a, b))


def attention_parts(c):
    B, H, T, D = c["B"], c["H"], c["T"], c["D"]
    q = torch.randn(B, H, T, D, requires_grad=True)
    k = torch.randn(B, H, T, D, requires_grad=True)
    v = torch.randn(B, H, T, D, requires_grad=True)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scale = 1.0 / D ** 0.5

    def forward():
        s = (q @ k.transpose(-2, -1)) * scale
        s = s.masked_fill(mask, float("-inf"))
        return torch.softmax(s, dim=-1) @ v

    return q, k, v, forward


def attention_fwd(c):
    _, _, _, forward = attention_parts(c)
    with torch.no_grad():
        return timed(forward)


def attention_fwd_bwd(c):
    q, k, v, forward = attention_parts(c)
    g = torch.randn(c["B"], c["H"], c["T"], c["D"])

    def step():
        q.grad = k.grad = v.grad = None
        forward().backward(g)

    return timed(step)


def xent_fwd_bwd(c):
    logits = torch.randn(c["N"], c["V"], requires_grad=True)
    targets = torch.randint(0, c["V"], (c["N"],))

    def step():
        logits.grad = None
        F.cross_entropy(logits, targets).backward()

    return timed(step)


KINDS = {"gemm": gemm, "attention_fwd": attention_fwd, "attention_fwd_bwd": attention_fwd_bwd, "xent_fwd_bwd": xent_fwd_bwd}

cases = json.loads(sys.argv[1])
results = [dict(case, **KINDS[case["kind"]](case)) for case in cases]
print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "results": results}))
