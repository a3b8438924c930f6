"""PyTorch twin of benchmarks/gpu-kernels.ts: the same CUDA cases on cuda:0 in bf16, timed the same way
(warm-up; one run picks how many runs make a ~2 ms sample; the median of samples, per run), with CUDA
events around each sample. Attention uses F.scaled_dot_product_attention(is_causal=True) restricted to
the flash backend when the build has it. Prints one JSON line. Run by gpu-kernels.ts through peer.ts."""
import contextlib
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

DEV = torch.device("cuda:0")
torch.manual_seed(0)
# bf16 GEMMs accumulate in f32, as ours do: no reduced-precision split-K reductions.
torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False

config = json.loads(sys.argv[1])
QUICK = config.get("quick", False)


def flash_context():
    """A context that restricts SDPA to the flash backend, and its name; the default dispatch if absent."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return (lambda: sdpa_kernel([SDPBackend.FLASH_ATTENTION])), "flash"
    except ImportError:
        pass
    if hasattr(torch.backends.cuda, "sdp_kernel"):
        return (lambda: torch.backends.cuda.sdp_kernel(enable_flash=True, enable_math=False, enable_mem_efficient=False)), "flash"
    return contextlib.nullcontext, "default"


FLASH, FLASH_NAME = flash_context()


def timed(fn):
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    one_ms = (time.perf_counter() - t0) * 1e3
    reps = max(1, min(50, math.ceil(2 / max(one_ms, 1e-3))))
    warmup, min_runs, min_ms = (1, 3, 50) if QUICK else (2, 10, 500)
    for _ in range(warmup):
        for _ in range(reps):
            fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    begin = time.perf_counter()
    while len(samples) < min_runs or ((time.perf_counter() - begin) * 1e3 < min_ms and len(samples) < 200):
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / reps)
    samples.sort()
    return {"medianMs": samples[len(samples) // 2], "minMs": samples[0], "runs": len(samples) * reps}


def randn(*shape, requires_grad=False):
    return torch.randn(*shape, device=DEV, dtype=torch.bfloat16).requires_grad_(requires_grad)


def copy(c):
    a = randn(c["n"])
    return timed(lambda: a.clone())


def gemm(c):
    a, b = randn(c["M"], c["K"]), randn(c["K"], c["N"])
    return timed(lambda: torch.matmul(a, b))


def attention_fwd(c):
    shape = (c["B"], c["H"], c["T"], c["D"])
    q, k, v = randn(*shape), randn(*shape), randn(*shape)
    with torch.no_grad(), FLASH():
        return dict(timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)), backend=FLASH_NAME)


def attention_fwd_bwd(c):
    shape = (c["B"], c["H"], c["T"], c["D"])
    q, k, v = (randn(*shape, requires_grad=True) for _ in range(3))
    g = randn(*shape)

    def step():
        q.grad = k.grad = v.grad = None
        F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g)

    with FLASH():
        return dict(timed(step), backend=FLASH_NAME)


def xent_fwd_bwd(c):
    # torch has no in-place variant: both of our variants are compared with this one.
    logits = randn(c["N"], c["V"], requires_grad=True)
    targets = torch.randint(0, c["V"], (c["N"],), device=DEV)

    def step():
        logits.grad = None
        F.cross_entropy(logits, targets).backward()

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated(DEV)
    torch.cuda.reset_peak_memory_stats(DEV)
    step()
    torch.cuda.synchronize()
    extra = torch.cuda.max_memory_allocated(DEV) - before
    return dict(timed(step), peakExtraBytes=extra)


KINDS = {
    "copy": copy,
    "gemm": gemm,
    "attention_fwd": attention_fwd,
    "attention_fwd_bwd": attention_fwd_bwd,
    "xent_fwd_bwd": xent_fwd_bwd,
}

results = []
for case in config["cases"]:
    results.append(dict(case, **KINDS[case["kind"]](case)))
    torch.cuda.empty_cache()
print(json.dumps({"version": torch.__version__, "device": torch.cuda.get_device_name(DEV), "results": results}))
