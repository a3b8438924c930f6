// What the CPU we run on can do, read once from CPUID, so kernels compiled for baseline x86-64 can
// pick their AVX2/FMA or AVX-512 paths at run time.
#pragma once
#include <string>

namespace glm {

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512bf16 = false;
  // The level kernels dispatch on: 0 scalar, 1 AVX2+FMA, 2 AVX-512 (F+BW+DQ+VL).
  int level() const;
  std::string str() const;
};

const CpuFeatures& cpuFeatures();
// GLM_CPU_LEVEL=scalar|avx2|avx512 caps the level (for tests of every path on one machine).
int cpuLevel();

}  // namespace glm
