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
// polynomial (relative error ~2e-7), times 2^n by scalef, which flushes to exactly 0 for the
// masked scores (about -1e30) without any clamping.
GLM_VEC VF vexp2(VF x) {
  const VF n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const VF f = _mm512_sub_ps(x, n);
  VF p = _mm512_set1_ps(1.535336188319500e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887440266574e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437357674640e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471162809e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791363012e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472028550421e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// dst[d][j] = src[j][d] for a 16 x 16 tile: three rounds of shuffles (pairs, quads, 128-bit lanes
// twice) in registers.
GLM_VEC void transposeTile(float* dst, int64_t ldd, const float* src, int64_t lds) {
  VF r[16], t[16];
  for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * lds);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; i++) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
  for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ldd, r[i]);
}
#undef GLM_VEC

#include "attention_kernel.inc"

}  // namespace glm::cpu::attn::avx512
