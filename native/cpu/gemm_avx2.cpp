// The AVX2+FMA GEMM micro-kernel: a 6×16 tile of C in 12 ymm accumulators (the classic Haswell
// blocking: 2 loads of B and 6 broadcasts of A feed 12 FMAs per k step). Full tiles run the epilogue
// in registers; a tile cut by the matrix edge is spilled to a small buffer and finished element by
// element, since AVX2 has no masked bf16 stores.
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "gemm_internal.h"
#include "vec_io.h"

namespace glm::cpu::gemm {
namespace {

constexpr int kMR = 6;

template <typename T, int ROWS, int NV>
GLM_TARGET_AVX2 void tile256(int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                             const TileOp& op) {
  constexpr int W = NV * 8;
  __m256 c[ROWS][NV];
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) c[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    __m256 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) b[v] = _mm256_load_ps(B + v * 8);
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; i++) {
      const __m256 a = _mm256_broadcast_ss(A + i);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) c[i][v] = _mm256_fmadd_ps(a, b[v], c[i][v]);
    }
    A += kMR;
    B += W;
  }

  if (cols < W) {
    alignas(32) float buf[ROWS * W];
    for (int i = 0; i < ROWS; i++)
      for (int v = 0; v < NV; v++) _mm256_store_ps(buf + i * W + v * 8, c[i][v]);
    storeTile(t, buf, W, ROWS, cols, op);
    return;
  }
  const __m256 alpha = _mm256_set1_ps(op.alpha), beta = _mm256_set1_ps(op.beta);
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
      __m256 x = op.alpha == 1.0f ? c[i][v] : _mm256_mul_ps(c[i][v], alpha);
      if (op.first) {
        if (op.beta != 0.0f) x = _mm256_fmadd_ps(beta, simd::load8(t.c + i * t.ldc + v * 8), x);
      } else {
        x = _mm256_add_ps(x, simd::load8(t.acc + i * t.ldacc + v * 8));
      }
      if (op.last) {
        if (t.bias) x = _mm256_add_ps(x, simd::load8(t.bias + v * 8));
        if (t.pre) simd::store8(t.pre + i * t.ldc + v * 8, x);
        if (op.gelu) x = simd::gelu256(x);
        simd::store8(t.c + i * t.ldc + v * 8, x);
      } else {
        simd::store8(t.acc + i * t.ldacc + v * 8, x);
      }
    }
  }
}

template <typename T, int NV>
void dispatchRows(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t, const TileOp& op) {
  switch (rows) {
    case 1: tile256<T, 1, NV>(cols, kc, A, B, t, op); break;
    case 2: tile256<T, 2, NV>(cols, kc, A, B, t, op); break;
    case 3: tile256<T, 3, NV>(cols, kc, A, B, t, op); break;
    case 4: tile256<T, 4, NV>(cols, kc, A, B, t, op); break;
    case 5: tile256<T, 5, NV>(cols, kc, A, B, t, op); break;
    case 6: tile256<T, 6, NV>(cols, kc, A, B, t, op); break;
    default: break;
  }
}

template <typename T>
void kernel256(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t, const TileOp& op) {
  if (cols > 8) dispatchRows<T, 2>(rows, cols, kc, A, B, t, op);
  else dispatchRows<T, 1>(rows, cols, kc, A, B, t, op);
}

}  // namespace

extern const LevelInfo kLevelAvx2 = {kMR, 16, 8, &kernel256<float>, &kernel256<bf16>, false};

}  // namespace glm::cpu::gemm
