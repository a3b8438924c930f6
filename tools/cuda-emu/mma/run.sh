#!/usr/bin/env bash
# Runs this checkout's CUDA GEMM (native/cuda/matmul.cu) and attention (native/cuda/attention.cu)
# kernels on the CPU under the mma.sync / ldmatrix / cp.async emulator (emu.h) and checks them against
# float64 references (test_gemm.cpp, test_attn.cpp): every kernel choice, under three schedules.
# Needs g++, python3, git and the CUDA headers; no GPU. Exits non-zero if any check or run fails.
#
# Usage: tools/cuda-emu/mma/run.sh [gemm] [attn]      (default: both)
# Env:   EMU_BUILD_DIR  build there and keep it (default: a fresh mktemp dir, removed after a clean pass)
#        CUDA_HOME      where include/cuda_runtime.h is (default /usr/local/cuda)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(gemm attn)
for w in "${what[@]}"; do
  case "$w" in gemm|attn) ;; *) echo "usage: $0 [gemm] [attn]" >&2; exit 2 ;; esac
done

cuda_inc="${CUDA_HOME:-/usr/local/cuda}/include"
if [ ! -f "$cuda_inc/cuda_runtime.h" ]; then
  echo "run.sh: no cuda_runtime.h under $cuda_inc (set CUDA_HOME to the CUDA toolkit)" >&2
  exit 2
fi
if [ -n "${EMU_BUILD_DIR:-}" ]; then
  build="$EMU_BUILD_DIR"
  keep=1
  mkdir -p "$build"
else
  build="$(mktemp -d /tmp/glm-cuda-emu-mma.XXXXXX)"
  keep=0
fi
rm -rf "$build/logs"
mkdir -p "$build/logs"
echo "sources: $root/native  build: $build"

t0=$SECONDS
python3 "$here/prepare.py" "$root" "$build"
flags=(-std=c++17 -O1 -g -I "$cuda_inc" -I "$here" -I "$build")
g++ "${flags[@]}" -c "$here/emu.cpp" -o "$build/emu.o"
pids=()
for w in "${what[@]}"; do
  g++ "${flags[@]}" "$here/test_$w.cpp" "$build/emu.o" -o "$build/test_$w" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "built in $((SECONDS - t0)) s"

# Each run starts from a clean environment for every switch the kernels or the emulator read, so a
# variable left in the caller's shell cannot change what is tested.
clean=(-u GLM_CUDA_GEMM -u GLM_CUDA_TF32 -u GLM_CUDA_ATTENTION -u EMU_SEED -u EMU_EARLY_COPY -u EMU_CC_MAJOR)
# Schedules: fibers in thread order with each cp.async group landing at the wait that completes it (as
# late as allowed); random subsets of warps per pass so warps drift apart (EMU_SEED); random and every
# copy landing at issue (EMU_EARLY_COPY).
schedules=("" "EMU_SEED=1" "EMU_SEED=2 EMU_EARLY_COPY=1")
runs=0 failed_runs=0 checks=0 passed=0
failures=()

# run_case TEST MODE "VAR=value ...": runs one test binary and tallies its "P/T checks passed" line.
run_case() {
  local test="$1" mode="$2" vars="$3"
  runs=$((runs + 1))
  local log="$build/logs/$runs.log" start=$SECONDS rc=0
  # shellcheck disable=SC2086  # vars is a list of VAR=value words
  env "${clean[@]}" $vars "$build/test_$test" "$mode" >"$log" 2>&1 || rc=$?
  local line p=0 t=0
  line="$(grep -E '^[0-9]+/[0-9]+ checks passed$' "$log" | tail -n 1 || true)"
  if [ -n "$line" ]; then
    p="${line%%/*}"
    t="${line#*/}"
    t="${t%% *}"
  fi
  checks=$((checks + t))
  passed=$((passed + p))
  local status=ok
  if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ "$p" -ne "$t" ] || [ "$t" -eq 0 ]; then
    status=FAIL
    failed_runs=$((failed_runs + 1))
    failures+=("$test $mode ${vars:-(in order)}: rc=$rc, ${line:-no summary line}; log $log")
  fi
  printf '%-4s %7s %4ds  %s %-5s %s\n' "$status" "$p/$t" $((SECONDS - start)) "$test" "$mode" "${vars:-(in order)}"
  if [ "$status" = FAIL ]; then
    grep -E '^FAIL|EMU FAILURE' "$log" | head -n 5 | sed 's/^/     | /' || true
    tail -n 3 "$log" | sed 's/^/     | /'
  fi
}

t1=$SECONDS
for w in "${what[@]}"; do
  if [ "$w" = gemm ]; then
    # Auto picks by size and alignment; large/small force a tensor-core tile; simple the fallback.
    for choice in "" GLM_CUDA_GEMM=large GLM_CUDA_GEMM=small GLM_CUDA_GEMM=simple; do
      for sched in "${schedules[@]}"; do
        for mode in quick odd full; do run_case gemm "$mode" "$(echo $choice $sched)"; done
      done
    done
    # Single-pass TF32 (looser tolerance, set by the test) on the tensor-core tiles.
    for choice in "" GLM_CUDA_GEMM=large GLM_CUDA_GEMM=small; do
      run_case gemm quick "$(echo GLM_CUDA_TF32=1 $choice EMU_SEED=3)"
    done
    # A pre-sm_80 device: the launcher must fall back to the simple kernel.
    run_case gemm quick "EMU_CC_MAJOR=7"
  else
    for choice in "" GLM_CUDA_ATTENTION=simple; do
      for sched in "${schedules[@]}"; do
        for mode in quick full; do run_case attn "$mode" "$(echo $choice $sched)"; done
      done
    done
    run_case attn quick "EMU_CC_MAJOR=7"
  fi
done

echo "----"
echo "$runs runs, $((runs - failed_runs)) clean; $passed/$checks checks passed; tests $((SECONDS - t1)) s, total $((SECONDS - t0)) s"
if [ "$failed_runs" -ne 0 ]; then
  printf 'FAILED: %s\n' "${failures[@]}"
  echo "build kept in $build (rerun one case: env VARS $build/test_gemm|test_attn quick|odd|full)"
  exit 1
fi
[ "$keep" -eq 0 ] && rm -rf "$build"
echo "all passed"
