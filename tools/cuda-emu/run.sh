#!/usr/bin/env bash
# Builds the CUDA kernels under native/cuda as plain C++ for the CPU emulator (emu.h) and runs
# kernels_test.cpp under AddressSanitizer and UBSan. Needs only g++ and python3 (no GPU, no nvcc).
# Usage: tools/cuda-emu/run.sh [build-dir]   (default: /tmp/glm-cuda-emu)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-/tmp/glm-cuda-emu}"
rm -rf "$out/src"
mkdir -p "$out/src" "$out/obj"
python3 "$here/translate.py" "$root" "$out/src"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
       -ffp-contract=off -I "$here/include" -I "$out/src" -pthread -w)
objs=()
for f in "$out"/src/native/cuda/*.cpp; do
  name="$(basename "$f" .cpp)"
  case "$name" in runtime|matmul|attention) continue ;; esac
  g++ "${flags[@]}" -c "$f" -o "$out/obj/cuda_$name.o" &
  objs+=("$out/obj/cuda_$name.o")
done
for f in cpu/convert cpu/elementwise core/threadpool; do
  g++ "${flags[@]}" -c "$out/src/native/$f.cpp" -o "$out/obj/${f//\//_}.o" &
  objs+=("$out/obj/${f//\//_}.o")
done
g++ "${flags[@]}" -c "$here/kernels_test.cpp" -o "$out/obj/kernels_test.o" &
wait
g++ "${flags[@]}" "${objs[@]}" "$out/obj/kernels_test.o" -o "$out/kernels_test"
ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=0 "$out/kernels_test"
