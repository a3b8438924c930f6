// The AVX-512 GEMM micro-kernel: a 14×32 tile of C in 28 zmm accumulators. Each k step loads one
// 32-wide row of the packed B panel (2 zmm) and broadcasts 14 values of the packed A panel straight
// from memory into the FMAs, so the 28 FMAs per step never wait on a shuffle. The epilogue (alpha,
// beta, bias, pre-activation, GELU, bf16 rounding) runs on the registers before they are stored.
// Tiles with fewer rows or a 16-wide last panel use the same template with smaller ROWS / NV.
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "gemm_internal.h"
#include "vec_io.h"

namespace glm::cpu::gemm {
namespace {

constexpr int kMR = 14;

template <typename T, int ROWS, int NV>
GLM_TARGET_AVX512 void tile512(int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                               const TileOp& op) {
  constexpr int W = NV * 16;
  // Pull the C tile towards L1 while the k loop runs.
  for (int i = 0; i < ROWS; i++) {
    _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc), _MM_HINT_T0);
    if (NV == 2) _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc + 16), _MM_HINT_T0);
  }
  __m512 c[ROWS][NV];
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) c[i][v] = _mm512_setzero_ps();

#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(B + v * 16);
    _mm_prefetch(reinterpret_cast<const char*>(B + 8 * W), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      const __m512 a = _mm512_set1_ps(A[i]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
    }
    A += kMR;
    B += W;
  }

  const int tailCols = cols - (NV - 1) * 16;
  const __mmask16 tailMask = tailCols >= 16 ? __mmask16(0xffff) : __mmask16((1u << tailCols) - 1);
  const __m512 alpha = _mm512_set1_ps(op.alpha), beta = _mm512_set1_ps(op.beta);
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; i++) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
      const __mmask16 m = v == NV - 1 ? tailMask : __mmask16(0xffff);
      __m512 x = op.alpha == 1.0f ? c[i][v] : _mm512_mul_ps(c[i][v], alpha);
      if (op.first) {
        if (op.beta != 0.0f) x = _mm512_fmadd_ps(beta, simd::load16(t.c + i * t.ldc + v * 16, m), x);
      } else {
        x = _mm512_add_ps(x, simd::load16(t.acc + i * t.ldacc + v * 16, m));
      }
      if (op.last) {
        if (t.bias) x = _mm512_add_ps(x, simd::load16(t.bias + v * 16, m));
        if (t.pre) simd::store16(t.pre + i * t.ldc + v * 16, x, m);
        if (op.gelu) x = simd::gelu512(x);
        simd::store16(t.c + i * t.ldc + v * 16, x, m);
      } else {
        simd::store16(t.acc + i * t.ldacc + v * 16, x, m);
      }
    }
  }
}

template <typename T, int NV>
void dispatchRows(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t, const TileOp& op) {
  switch (rows) {
#define GLM_ROWS_CASE(R) \
  case R: tile512<T, R, NV>(cols, kc, A, B, t, op); break;
    GLM_ROWS_CASE(1) GLM_ROWS_CASE(2) GLM_ROWS_CASE(3) GLM_ROWS_CASE(4) GLM_ROWS_CASE(5) GLM_ROWS_CASE(6)
    GLM_ROWS_CASE(7) GLM_ROWS_CASE(8) GLM_ROWS_CASE(9) GLM_ROWS_CASE(10) GLM_ROWS_CASE(11) GLM_ROWS_CASE(12)
    GLM_ROWS_CASE(13) GLM_ROWS_CASE(14)
#undef GLM_ROWS_CASE
    default: break;
  }
}

template <typename T>
void kernel512(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t, const TileOp& op) {
  if (cols > 16) dispatchRows<T, 2>(rows, cols, kc, A, B, t, op);
  else dispatchRows<T, 1>(rows, cols, kc, A, B, t, op);
}

}  // namespace

extern const LevelInfo kLevelAvx512 = {kMR, 32, 16, &kernel512<float>, &kernel512<bf16>};

}  // namespace glm::cpu::gemm
