// Baseline x86-64 (or any CPU) build of the attention kernels (attention_kernel.inc): "vectors" of
// one float, a 4 x 4 register tile, exp2 from libm. The reference path for machines without AVX2.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>

#include "../core/error.h"
#include "attention_isa.h"

#define GLM_ATTN_TARGET

namespace glm::cpu::attn::scalar {

using VF = float;
constexpr int W = 1;
constexpr int kRT = 4, kNC = 4;

#define GLM_VEC static inline
GLM_VEC VF vzero() { return 0.0f; }
GLM_VEC VF vload(const float* p) { return *p; }
GLM_VEC void vstore(float* p, VF v) { *p = v; }
GLM_VEC VF vset1(float x) { return x; }
GLM_VEC VF vfma(VF a, VF b, VF c) { return a * b + c; }
GLM_VEC VF vadd(VF a, VF b) { return a + b; }
GLM_VEC VF vsub(VF a, VF b) { return a - b; }
GLM_VEC VF vmul(VF a, VF b) { return a * b; }
GLM_VEC VF vmax(VF a, VF b) { return a > b ? a : b; }
GLM_VEC float hmax(VF a) { return a; }
GLM_VEC float hsum(VF a) { return a; }
// 2^x; exactly 0 below -126 like the vector builds (masked scores are about -1e30).
GLM_VEC VF vexp2(VF x) { return x < -126.0f ? 0.0f : std::exp2(x); }
GLM_VEC void transposeTile(float* dst, int64_t, const float* src, int64_t) { *dst = *src; }
#undef GLM_VEC

#include "attention_kernel.inc"

}  // namespace glm::cpu::attn::scalar
