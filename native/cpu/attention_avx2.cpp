// AVX2+FMA build of the CPU attention kernels (attention_kernel.inc): 8-wide f32 vectors, a 4 x 3
// register tile (12 of the 16 ymm registers hold accumulators), exp2 by round + polynomial + an
// exponent built in the integer unit.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>

#include "../core/error.h"
#include "attention_isa.h"

#define GLM_ATTN_TARGET __attribute__((target("avx2,fma")))

namespace glm::cpu::attn::avx2 {

using VF = __m256;
constexpr int W = 8;
constexpr int kRT = 4, kNC = 3;

#define GLM_VEC GLM_ATTN_TARGET static inline __attribute__((always_inline))
GLM_VEC VF vzero() { return _mm256_setzero_ps(); }
GLM_VEC VF vload(const float* p) { return _mm256_loadu_ps(p); }
GLM_VEC void vstore(float* p, VF v) { _mm256_storeu_ps(p, v); }
GLM_VEC VF vset1(float x) { return _mm256_set1_ps(x); }
GLM_VEC VF vfma(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
GLM_VEC VF vadd(VF a, VF b) { return _mm256_add_ps(a, b); }
GLM_VEC VF vsub(VF a, VF b) { return _mm256_sub_ps(a, b); }
GLM_VEC VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
GLM_VEC VF vmax(VF a, VF b) { return _mm256_max_ps(a, b); }
GLM_VEC float hmax(VF a) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
GLM_VEC float hsum(VF a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 2^x for x <= 0, as in the AVX-512 build; 2^n is assembled as (n + 127) << 23, valid for n in
// [-126, 127]. Below -126 (masked scores are about -1e30) the result is exactly 0.
GLM_VEC VF vexp2(VF x) {
  const VF keep = _mm256_cmp_ps(x, _mm256_set1_ps(-126.0f), _CMP_NLT_UQ);  // NaN kept
  x = _mm256_min_ps(_mm256_set1_ps(126.0f), _mm256_max_ps(_mm256_set1_ps(-126.0f), x));
  const VF n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const VF f = _mm256_sub_ps(x, n);
  VF p = _mm256_set1_ps(1.535336188319500e-4f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.339887440266574e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618437357674640e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550332471162809e-2f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402264791363012e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931472028550421e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(keep, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

// dst[d][j] = src[j][d] for an 8 x 8 tile, in registers.
GLM_VEC void transposeTile(float* dst, int64_t ldd, const float* src, int64_t lds) {
  VF r[8], t[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
  for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + i * ldd, t[i]);
}
#undef GLM_VEC

#include "attention_kernel.inc"

}  // namespace glm::cpu::attn::avx2
