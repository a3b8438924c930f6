// The AVX-512 GEMM micro-kernel: a 14×32 tile of C in 28 zmm accumulators. Each k step loads one
// 32-wide row of the packed B panel (2 zmm) and broadcasts 14 values of the packed A panel straight
// from memory into the FMAs, so the 28 FMAs per step never wait on a shuffle. The epilogue (alpha,
// beta, bias, pre-activation, GELU, bf16 rounding) runs on the registers before they are stored.
// Tiles with fewer rows or a 16-wide last panel use the same template with smaller ROWS / NV. The A
// panel is k-major (packed) or row-major (copied rows, or A itself read in place; see matmul.cpp).
// Last panels of at most 8 columns go to the narrow kernels at the end of this file.
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "gemm_internal.h"
#include "vec_io.h"

namespace glm::cpu::gemm {
namespace {

constexpr int kMR = 14;

// RM: A panel row-major (row stride op.aRowStride) instead of k-major.
template <typename T, int ROWS, int NV, bool RM>
GLM_TARGET_AVX512 void tile512(int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                               const TileOp& op) {
  const int64_t lds = op.aRowStride;
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

  // Row-major A: rows i and i + 7 share an offset from two base pointers, and the offsets 0, s, 2s,
  // 3s, 4s, 5s, 6s (s = the row stride in bytes) need only s, 3s and 5s in registers (the rest are
  // x86 scaled indices), so the loop does not run out of general registers.
  const int64_t s1 = lds * 4, s3 = 3 * s1, s5 = 5 * s1;
  const char* a0 = reinterpret_cast<const char*>(A);
  const char* a7 = a0 + 7 * s1;
  auto rowOffset = [&](int r) -> int64_t {
    switch (r) {
      case 0: return 0;
      case 1: return s1;
      case 2: return 2 * s1;
      case 3: return s3;
      case 4: return 4 * s1;
      case 5: return s5;
      default: return 2 * s3;
    }
  };
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(B + v * 16);
    _mm_prefetch(reinterpret_cast<const char*>(B + 8 * W), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      const __m512 a = _mm512_set1_ps(
          RM ? *reinterpret_cast<const float*>((i < 7 ? a0 : a7) + rowOffset(i % 7)) : A[i]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
    }
    if (RM) {
      a0 += 4;
      a7 += 4;
    } else {
      A += kMR;
    }
    B += W;
  }

  const int tailCols = cols - (NV - 1) * 16;
  const __mmask16 tailMask = tailCols >= 16 ? __mmask16(0xffff) : __mmask16((1u << tailCols) - 1);
  // The common cases first, without per-vector tests: a plain product (+ bias) stored in one K
  // block, and a later K block adding into the partial sums.
  if (op.alpha == 1.0f && op.beta == 0.0f && op.first && op.last && !t.pre && !op.gelu) {
    __m512 bias[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
      bias[v] = t.bias ? simd::load16(t.bias + v * 16, v == NV - 1 ? tailMask : __mmask16(0xffff)) : _mm512_setzero_ps();
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++)
        simd::store16(t.c + i * t.ldc + v * 16, _mm512_add_ps(c[i][v], bias[v]), v == NV - 1 ? tailMask : __mmask16(0xffff));
    return;
  }
  if (op.alpha == 1.0f && !op.first && !op.last) {  // t.acc is f32 for both element types
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) {
        const __mmask16 m = v == NV - 1 ? tailMask : __mmask16(0xffff);
        float* p = t.acc + i * t.ldacc + v * 16;
        _mm512_mask_storeu_ps(p, m, _mm512_add_ps(c[i][v], _mm512_maskz_loadu_ps(m, p)));
      }
    return;
  }
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

template <typename T, int NV, bool RM>
void dispatchRows(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t, const TileOp& op) {
  switch (rows) {
#define GLM_ROWS_CASE(R) \
  case R: tile512<T, R, NV, RM>(cols, kc, A, B, t, op); break;
    GLM_ROWS_CASE(1) GLM_ROWS_CASE(2) GLM_ROWS_CASE(3) GLM_ROWS_CASE(4) GLM_ROWS_CASE(5) GLM_ROWS_CASE(6)
    GLM_ROWS_CASE(7) GLM_ROWS_CASE(8) GLM_ROWS_CASE(9) GLM_ROWS_CASE(10) GLM_ROWS_CASE(11) GLM_ROWS_CASE(12)
    GLM_ROWS_CASE(13) GLM_ROWS_CASE(14)
#undef GLM_ROWS_CASE
    default: break;
  }
}

template <typename T>
void kernel512(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t, const TileOp& op) {
  if (op.aRowStride) {
    if (cols > 16) dispatchRows<T, 2, true>(rows, cols, kc, A, B, t, op);
    else dispatchRows<T, 1, true>(rows, cols, kc, A, B, t, op);
  } else {
    if (cols > 16) dispatchRows<T, 2, false>(rows, cols, kc, A, B, t, op);
    else dispatchRows<T, 1, false>(rows, cols, kc, A, B, t, op);
  }
}

// A last B panel of only R <= 8 columns (N = 65, say) would waste most of a 16-wide vector per
// FMA. This kernel turns the tile around: vectors run down the 14 rows of the A panel and the R
// columns of B are broadcast, so each k step costs R FMAs instead of 14. U independent partial sums
// per column hide the FMA latency that so few accumulators would otherwise expose.
template <typename T, int R>
GLM_TARGET_AVX512 void narrow512(int rows, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                                 const TileOp& op) {
  constexpr int U = R <= 4 ? 4 : 2;
  const __mmask16 m = __mmask16((1u << rows) - 1);  // unused panel slots are never read
  __m512 acc[U][R];
#pragma GCC unroll 4
  for (int u = 0; u < U; u++)
#pragma GCC unroll 8
    for (int c = 0; c < R; c++) acc[u][c] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + U <= kc; k += U) {
#pragma GCC unroll 4
    for (int u = 0; u < U; u++) {
      const __m512 a = _mm512_maskz_loadu_ps(m, A + (k + u) * kMR);
#pragma GCC unroll 8
      for (int c = 0; c < R; c++) acc[u][c] = _mm512_fmadd_ps(a, _mm512_set1_ps(B[(k + u) * 16 + c]), acc[u][c]);
    }
  }
  for (; k < kc; k++) {
    const __m512 a = _mm512_maskz_loadu_ps(m, A + k * kMR);
#pragma GCC unroll 8
    for (int c = 0; c < R; c++) acc[0][c] = _mm512_fmadd_ps(a, _mm512_set1_ps(B[k * 16 + c]), acc[0][c]);
  }
  alignas(64) float buf[R][16];
#pragma GCC unroll 8
  for (int c = 0; c < R; c++) {
    __m512 v = acc[0][c];
#pragma GCC unroll 4
    for (int u = 1; u < U; u++) v = _mm512_add_ps(v, acc[u][c]);
    _mm512_store_ps(buf[c], v);
  }
  for (int i = 0; i < rows; i++)
    for (int c = 0; c < R; c++) storeOne(t, i, c, buf[c][i], op);
}

// The same narrow tile when A panels are row-major: dot products along k of two A rows at a time with
// the R columns of the B panel, which the driver then packs column by column (B[c·kc + k]).
template <typename T, int R>
GLM_TARGET_AVX512 void narrowRows512(int rows, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                                     const TileOp& op) {
  const int64_t lds = op.aRowStride;
  float vals[kMR][R];
  for (int i0 = 0; i0 < rows; i0 += 2) {
    const int nr = std::min(2, rows - i0);
    __m512 acc[2][R];
#pragma GCC unroll 2
    for (int r = 0; r < 2; r++)
#pragma GCC unroll 8
      for (int c = 0; c < R; c++) acc[r][c] = _mm512_setzero_ps();
    const float* a0 = A + i0 * lds;
    const float* a1 = A + (i0 + nr - 1) * lds;  // a single last row is computed twice
    for (int64_t k = 0; k < kc; k += 16) {
      const __mmask16 m = kc - k >= 16 ? __mmask16(0xffff) : __mmask16((1u << (kc - k)) - 1);
      const __m512 x0 = _mm512_maskz_loadu_ps(m, a0 + k), x1 = _mm512_maskz_loadu_ps(m, a1 + k);
#pragma GCC unroll 8
      for (int c = 0; c < R; c++) {
        const __m512 b = _mm512_maskz_loadu_ps(m, B + c * kc + k);
        acc[0][c] = _mm512_fmadd_ps(x0, b, acc[0][c]);
        acc[1][c] = _mm512_fmadd_ps(x1, b, acc[1][c]);
      }
    }
    for (int r = 0; r < nr; r++)
      for (int c = 0; c < R; c++) vals[i0 + r][c] = _mm512_reduce_add_ps(acc[r][c]);
  }
  for (int i = 0; i < rows; i++)
    for (int c = 0; c < R; c++) storeOne(t, i, c, vals[i][c], op);
}

template <typename T>
void narrowKernel512(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                     const TileOp& op) {
  if (op.aRowStride) {
    switch (cols) {
      case 1: narrowRows512<T, 1>(rows, kc, A, B, t, op); break;
      case 2: narrowRows512<T, 2>(rows, kc, A, B, t, op); break;
      case 3: narrowRows512<T, 3>(rows, kc, A, B, t, op); break;
      case 4: narrowRows512<T, 4>(rows, kc, A, B, t, op); break;
      case 5: narrowRows512<T, 5>(rows, kc, A, B, t, op); break;
      case 6: narrowRows512<T, 6>(rows, kc, A, B, t, op); break;
      case 7: narrowRows512<T, 7>(rows, kc, A, B, t, op); break;
      case 8: narrowRows512<T, 8>(rows, kc, A, B, t, op); break;
      default: kernel512<T>(rows, cols, kc, A, B, t, op); break;
    }
    return;
  }
  switch (cols) {
    case 1: narrow512<T, 1>(rows, kc, A, B, t, op); break;
    case 2: narrow512<T, 2>(rows, kc, A, B, t, op); break;
    case 3: narrow512<T, 3>(rows, kc, A, B, t, op); break;
    case 4: narrow512<T, 4>(rows, kc, A, B, t, op); break;
    case 5: narrow512<T, 5>(rows, kc, A, B, t, op); break;
    case 6: narrow512<T, 6>(rows, kc, A, B, t, op); break;
    case 7: narrow512<T, 7>(rows, kc, A, B, t, op); break;
    case 8: narrow512<T, 8>(rows, kc, A, B, t, op); break;
    default: kernel512<T>(rows, cols, kc, A, B, t, op); break;
  }
}

}  // namespace

extern const LevelInfo kLevelAvx512 = {kMR, 32, 16, &kernel512<float>, &kernel512<bf16>,
                                       true, 8, &narrowKernel512<float>, &narrowKernel512<bf16>};

}  // namespace glm::cpu::gemm
