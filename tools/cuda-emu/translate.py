#!/usr/bin/env python3
"""Copies the native sources into OUT for the CUDA emulator, rewriting every kernel launch
`kernel<<<grid, block, smem, stream>>>(args)` in the .cu/.cuh files into
`::emu::run([&] { kernel(args); }, grid, block, smem, stream)` (see emu.h).

Usage: translate.py REPO_ROOT OUT_DIR
"""
import pathlib
import shutil
import sys


def match_back(s: str, close: int, open_ch: str, close_ch: str) -> int:
    """Index of the bracket opening the one that closes at `close`."""
    depth = 0
    i = close
    while i >= 0:
        if s[i] == close_ch:
            depth += 1
        elif s[i] == open_ch:
            depth -= 1
            if depth == 0:
                return i
        i -= 1
    raise ValueError("unbalanced brackets before a launch")


def match_forward(s: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(s)):
        if s[i] == "(":
            depth += 1
        elif s[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses in launch arguments")


def rewrite_launches(s: str) -> str:
    out = []
    pos = 0
    while True:
        at = s.find("<<<", pos)
        if at < 0:
            out.append(s[pos:])
            return "".join(out)
        # The kernel expression: identifiers, '::' and balanced template argument lists.
        start = at
        i = at - 1
        while i >= 0:
            c = s[i]
            if c == ">":
                i = match_back(s, i, "<", ">") - 1
            elif c.isalnum() or c in "_:":
                i -= 1
            else:
                break
        start = i + 1
        kernel = s[start:at]
        end_cfg = s.find(">>>", at)
        cfg = s[at + 3 : end_cfg]
        j = end_cfg + 3
        while s[j].isspace():
            j += 1
        if s[j] != "(":
            raise ValueError(f"expected '(' after a launch of {kernel}")
        close = match_forward(s, j)
        args = s[j + 1 : close]
        out.append(s[pos:start])
        out.append(f"::emu::run([&] {{ {kernel}({args}); }}, {cfg})")
        pos = close + 1


def main() -> None:
    root = pathlib.Path(sys.argv[1])
    dest = pathlib.Path(sys.argv[2])
    for sub in ["native/core", "native/cpu", "native/cuda"]:
        (dest / sub).mkdir(parents=True, exist_ok=True)
        for f in (root / sub).iterdir():
            if f.suffix in (".cu", ".cuh"):
                text = rewrite_launches(f.read_text())
                name = f.name[:-3] + ".cpp" if f.suffix == ".cu" else f.name
                (dest / sub / name).write_text(text)
            elif f.suffix in (".h", ".cpp"):
                shutil.copy(f, dest / sub / f.name)


if __name__ == "__main__":
    main()
