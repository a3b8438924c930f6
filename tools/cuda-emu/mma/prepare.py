#!/usr/bin/env python3
"""Copies REPO_ROOT/native into OUT_DIR/native for the GEMM/attention emulator (emu.h):
- mma_util.cuh: the CUDA headers give way to emu.h, the tensor-core path is compiled in
  (GLM_TC_ARCH 1) and its PTX primitives (smemAddr .. toTf32) are replaced by prims.inc;
- every .cu/.cuh under native/cuda: `extern __shared__` buffers read the emulated shared memory and
  each launch `k<<<grid, block, smem, stream>>>(args)` becomes `::glm_emu::launch(k, grid, block,
  smem)(args)` (the emulator runs launches synchronously, so the stream is dropped).
Every rewrite is checked: if the kernel sources change shape, this fails instead of testing
something other than what is in the tree.

Usage: prepare.py REPO_ROOT OUT_DIR
"""
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent


def replace_once(s: str, old: str, new: str, where: str) -> str:
    if s.count(old) != 1:
        sys.exit(f"prepare.py: expected exactly one {old!r} in {where}, found {s.count(old)}")
    return s.replace(old, new)


def split_top_level(s: str) -> list:
    """Splits on commas outside (), <>, [] and {}."""
    parts, depth, cur = [], 0, []
    for c in s:
        if c in "(<[{":
            depth += 1
        elif c in ")>]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur).strip())
    return parts


def rewrite_launches(s: str, where: str) -> str:
    out, pos = [], 0
    while True:
        at = s.find("<<<", pos)
        if at < 0:
            out.append(s[pos:])
            return "".join(out)
        # The kernel expression, read backwards: identifiers, '::' and balanced template arguments.
        i = at - 1
        while i >= 0:
            c = s[i]
            if c == ">":
                depth = 0
                while True:
                    depth += {">": 1, "<": -1}.get(s[i], 0)
                    if depth == 0:
                        break
                    i -= 1
                i -= 1
            elif c.isalnum() or c in "_:":
                i -= 1
            else:
                break
        start = i + 1
        kernel = s[start:at]
        end = s.find(">>>", at)
        cfg = split_top_level(s[at + 3 : end])
        if not kernel or len(cfg) < 2 or len(cfg) > 4:
            sys.exit(f"prepare.py: cannot read the launch {s[start:end + 3]!r} in {where}")
        grid, block = cfg[0], cfg[1]
        smem = cfg[2] if len(cfg) > 2 else "0"
        out.append(s[pos:start])
        out.append(f"::glm_emu::launch({kernel}, {grid}, {block}, {smem})")
        pos = end + 3


def main() -> None:
    root, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    shutil.rmtree(dest / "native", ignore_errors=True)
    shutil.copytree(root / "native", dest / "native")
    cuda = dest / "native" / "cuda"

    p = cuda / "mma_util.cuh"
    s = p.read_text()
    s = replace_once(s, "#include <cuda_bf16.h>\n#include <cuda_runtime.h>\n", '#include "emu.h"\n', p.name)
    s = replace_once(s, "#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800\n#define GLM_TC_ARCH 1",
                     "#if 1\n#define GLM_TC_ARCH 1", p.name)
    a = s.find("__device__ __forceinline__ uint32_t smemAddr")
    b = s.find("// Splits x into big + small")
    if a < 0 or b < a:
        sys.exit("prepare.py: mma_util.cuh no longer has the primitives block smemAddr .. splitTf32")
    s = s[:a] + (HERE / "prims.inc").read_text() + s[b:]
    p.write_text(s)

    for p in sorted(cuda.iterdir()):
        if p.suffix not in (".cu", ".cuh"):
            continue
        s = p.read_text()
        s = s.replace("extern __shared__ __align__(128) unsigned char smemRaw[];",
                      "unsigned char* smemRaw = ::glm_emu::rt().smem;")
        if p.name in ("matmul.cu", "attention.cu") or p.suffix == ".cuh":
            s = rewrite_launches(s, p.name)
        p.write_text(s)

    # What the tests compile must hold no PTX, launch or shared declaration the emulator does not back.
    for p in sorted(cuda.iterdir()):
        if p.name in ("matmul.cu", "attention.cu") or p.suffix == ".cuh":
            s = p.read_text()
            if any(x in s for x in ("extern __shared__", "<<<", "asm(", "asm volatile", "__cvta")):
                sys.exit(f"prepare.py: {p.name} still has a CUDA-only construct the emulator cannot run")


if __name__ == "__main__":
    main()
