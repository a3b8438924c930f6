#!/usr/bin/env bash
# gpu-run.sh — the one command for a session with a GPU: check the machine, (re)build the addon for sm_90
# if the carried build is not a CUDA sm_90 one, run the whole test suite, run the kernels' tests under
# compute-sanitizer (memcheck, racecheck), then the GPU benchmarks against PyTorch (kernels, GPT-2 training
# speed, the short real training run's loss curves, decoding).
#
# Prepare here (the machine without a GPU), from the repo root:
#   bash ../shared/tools/device-kit.sh
# then run on the GPU machine, from the repo root, carrying .devkit, build and node_modules:
#   bash benchmarks/gpu-run.sh [STAGE...]
# STAGES: check build test memcheck racecheck bench train curve generate (default: all, in that order).
# bench = benchmarks/gpu-kernels.ts; train = benchmarks/gpu-train.ts at B=16, T=1024 with the largest-B
# search and torch.compile (a few minutes, compile the most of it); curve = gpu-train.ts --loss-curve
# (200 steps each side); generate = benchmarks/gpu-generate.ts (batch 1 and 8). The device tool stops
# a command after 10 minutes, so split them over calls when needed, e.g.
#   bash benchmarks/gpu-run.sh check build test   |   ... memcheck   |   ... racecheck   |   ... bench
#   bash benchmarks/gpu-run.sh train   |   ... curve generate
# Logs go to $OUT (the device tool's output folder) when set, else benchmarks/out/; summary.txt lists
# each stage's exit status. Env: GLM_FORCE_REBUILD=1 rebuilds anyway; GLM_SANITIZE_TIMEOUT (seconds per
# test file under a sanitizer, default 240); GLM_SANITIZE_FILES (test files to sanitize); GLM_BENCH_ARGS
# (e.g. --quick); GLM_TRAIN_ARGS (default --max-batch --compile), GLM_CURVE_ARGS, GLM_GENERATE_ARGS (extra
# options of those scripts); GLM_STAGE_TIMEOUT (seconds per train/curve/generate stage, default 540).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/benchmarks/out}
mkdir -p "$out"
summary=$out/summary.txt
stages=("$@")
[[ ${#stages[@]} -eq 0 ]] && stages=(check build test memcheck racecheck bench train curve generate)
sanitize_files=${GLM_SANITIZE_FILES:-"attention matmul crossEntropy layerNorm embedding"}
sanitize_timeout=${GLM_SANITIZE_TIMEOUT:-240}
# npm/npx are not on the GPU machine (.devkit carries the node binary only): call the tools' scripts.
uvu=(node node_modules/uvu/bin.js -r tsx)

if [[ -f .devkit/env.sh ]]; then
  # shellcheck disable=SC1091
  source .devkit/env.sh
fi
command -v node >/dev/null || { echo "gpu-run: no node: run 'bash ../shared/tools/device-kit.sh' here and carry .devkit" >&2; exit 1; }

# Records a stage's exit status; the run goes on so one failure does not hide the other results.
record() { echo "$1: rc=$2 ($3)" | tee -a "$summary"; }

build_info() { node -e "const b=require('./build/Release/glm_native.node').buildInfo(); console.log(JSON.stringify(b))" 2>/dev/null; }

stage_check() {
  {
    nvidia-smi
    nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
    nvcc --version
    command -v compute-sanitizer
    python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
    echo "node $(node --version)"
    echo "addon: $(build_info || echo 'not loadable')"
  } >"$out/check.log" 2>&1
  local rc=$?
  nvidia-smi -L >/dev/null 2>&1 || rc=1
  tail -n 4 "$out/check.log"
  record check $rc "$out/check.log"
}

stage_build() {
  local info; info=$(build_info)
  if [[ -z ${GLM_FORCE_REBUILD:-} ]] && echo "$info" | grep -q '"cuda":true' && echo "$info" | grep -q '"cudaArchitectures":"[^"]*90'; then
    record build 0 "carried build is CUDA sm_90: $info"
    return
  fi
  # Plain CMake (cmake-js would want npm and the network): the same variables cmake-js passes.
  local inc=$root/node_modules/node-api-headers/include
  [[ -f $inc/node_api.h ]] || inc=${GLM_NODE_API_INCLUDE:?no Node-API headers: carry node_modules or .devkit}
  local bdir=/tmp/glm-build
  {
    cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
      -DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION \
      "-DCMAKE_JS_INC=$inc;$root/node_modules/node-addon-api" \
      "-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$root/build/Release" &&
      cmake --build "$bdir" -j "$(nproc)"
  } >"$out/build.log" 2>&1
  local rc=$?
  tail -n 3 "$out/build.log"
  record build $rc "rebuilt for sm_90 in $bdir: $(build_info || echo 'not loadable'); log $out/build.log"
}

stage_test() {
  "${uvu[@]}" test '\.test\.ts$' --no-color >"$out/test.log" 2>&1
  local rc=$?
  tail -n 6 "$out/test.log"
  record test $rc "$out/test.log"
}

# One sanitizer run per test file, each under a time limit, so one slow file does not take the rest down.
sanitize() {
  local tool=$1 rc_all=0
  for f in $sanitize_files; do
    local log=$out/$tool-$f.log
    timeout "$sanitize_timeout" compute-sanitizer --tool "$tool" --target-processes all --error-exitcode 99 \
      --print-limit 50 "${uvu[@]}" test "^$f\\.test\\.ts\$" --no-color >"$log" 2>&1
    local rc=$?
    [[ $rc -ne 0 ]] && rc_all=1
    echo "  $tool $f: rc=$rc ($(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|Total:|Passed:' "$log" | tr '\n' ' '))"
  done
  record "$tool" $rc_all "$out/$tool-*.log; rc 99: sanitizer errors, 124: time limit, 1: test failure"
}

stage_bench() {
  # shellcheck disable=SC2086
  node --import tsx benchmarks/gpu-kernels.ts ${GLM_BENCH_ARGS:-} >"$out/gpu-kernels.txt" 2>"$out/gpu-kernels.err"
  local rc=$?
  grep '^{' "$out/gpu-kernels.txt" | tail -n 1 >"$out/gpu-kernels.json"
  grep -v '^{' "$out/gpu-kernels.txt"
  record bench $rc "$out/gpu-kernels.txt, $out/gpu-kernels.json"
}

# One benchmark script (NAME: its log name) under the stage time limit; its last JSON line goes to NAME.json.
run_script() {
  local stage=$1 name=$2 script=$3
  shift 3
  timeout "${GLM_STAGE_TIMEOUT:-540}" node --import tsx "benchmarks/$script" "$@" >"$out/$name.txt" 2>"$out/$name.err"
  local rc=$?
  grep '^{' "$out/$name.txt" | tail -n 1 >"$out/$name.json"
  grep -v '^{' "$out/$name.txt"
  record "$stage" $rc "$out/$name.txt, $out/$name.json; rc 124: time limit"
}

echo "gpu-run $(date -Is) $(git rev-parse --short HEAD 2>/dev/null): ${stages[*]}" | tee -a "$summary"
for s in "${stages[@]}"; do
  case $s in
    check) stage_check ;;
    build) stage_build ;;
    test) stage_test ;;
    memcheck | racecheck) sanitize "$s" ;;
    bench) stage_bench ;;
    # shellcheck disable=SC2086
    train) run_script train gpu-train gpu-train.ts ${GLM_TRAIN_ARGS:---max-batch --compile} ;;
    # shellcheck disable=SC2086
    curve) run_script curve gpu-train-curve gpu-train.ts --loss-curve ${GLM_CURVE_ARGS:-} ;;
    # shellcheck disable=SC2086
    generate) run_script generate gpu-generate gpu-generate.ts ${GLM_GENERATE_ARGS:-} ;;
    *) echo "gpu-run: unknown stage '$s' (check build test memcheck racecheck bench train curve generate)" >&2; exit 2 ;;
  esac
done
echo "--- summary ($summary)"
cat "$summary"
! grep -q 'rc=[1-9]' <(tail -n "${#stages[@]}" "$summary")
