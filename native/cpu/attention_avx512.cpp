// AVX-512 build of the CPU attention kernels (attention_kernel.inc): 16-wide f32 vectors, a 6 x 4
// register tile (24 zmm accumulators), exp2 by roundscale + polynomial + scalef.
// GCC 12's AVX-512 intrinsics build their "undefined" pass-through operand as `__m512 __Y = __Y;`,
// which -Wmaybe-uninitialized reports at every use (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>

#include "../core/error.h"
#include "attention_isa.h"

#define GLM_ATTN_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace glm::cpu::attn::avx512 {

using VF = __m512;
constexpr int W = 16;
constexpr int kRT = 6, kNC = 4;

#define GLM_VEC GLM_ATTN_TARGET static inline __attribute__((always_inline))
GLM_VEC VF vzero() { return _mm512_setzero_ps(); }
GLM_VEC VF vload(const float* p) { return _mm512_loadu_ps(p); }
GLM_VEC void vstore(float* p, VF v) { _mm512_storeu_ps(p, v); }
GLM_VEC VF vset1(float x) { return _mm512_set1_ps(x); }
GLM_VEC VF vfma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
GLM_VEC VF vadd(VF a, VF b) { return _mm512_add_ps(a, b); }
GLM_VEC VF vsub(VF a, VF b) { return _mm512_sub_ps(a, b); }
GLM_VEC VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
GLM_VEC VF vmax(VF a, VF b) { return _mm512_max_ps(a, b); }
GLM_VEC float hmax(VF a) { return _mm512_reduce_max_ps(a); }
GLM_VEC float hsum(VF a) { return _mm512_reduce_add_ps(a); }

// 2^x for x <= 0 (scores minus their max): x = n + f, |f| <= 1/2, 2^f from Cephes' exp2f
// polynomial (relative error ~2e-7), times 2^n by scalef. Below -126 the result is exactly 0,
// which is how masked (-inf) scores become zero probabilities.
GLM_VEC VF vexp2(VF x) {
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.0f), _CMP_NLT_UQ);  // NaN kept
  x = _mm512_min_ps(_mm512_set1_ps(126.0f), _mm512_max_ps(_mm512_set1_ps(-126.0f), x));
  const VF n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const VF f = _mm512_sub_ps(x, n);
  VF p = _mm512_set1_ps(1.535336188319500e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887440266574e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437357674640e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471162809e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791363012e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472028550421e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(p, n));
}
#undef GLM_VEC

#include "attention_kernel.inc"

}  // namespace glm::cpu::attn::avx512
