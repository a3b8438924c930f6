// GEMM for very few rows of C (M <= kSmallRowsMaxAvx2: a token at a time in generation, a small
// batch of them), AVX2+FMA: the 8-wide twin of gemm_small.cpp (AVX-512), same layout of the work.
// Such products are bound by reading B once, so B is streamed straight from its own layout instead
// of being packed (which would read it, write it and read it again):
// - B stored (N, K) (transB, nn.Linear weights): dot products of A rows with B's rows, one row at a
//   time (a sequential stream), vectorised along K, reduced at the end;
// - B stored (K, N): each k step adds A[i][k] times a 32-wide piece of B's row k.
// AVX2 has 16 vector registers (AVX-512: 32), so rows are taken in groups small enough that the
// accumulators, the B vectors and an A vector fit: 3 rows × 2 sums along K for the dots, 2 rows × 4
// vectors for the axpys. The B rows (or the 32-column strip) a group reads are read again at once by
// the next group, from L1/L2: main memory still sees B once. Tails (K % 8 for the dots, N % 8 for the
// axpys, the epilogue's N % 8) are scalar: no masked stores (slow on AMD) and no partial bf16 loads.
#include <immintrin.h>

#include <algorithm>

#include "gemm_internal.h"
#include "vec_io.h"

namespace glm::cpu::gemm {
namespace {

// Epilogue of n values v of row i, from column j (only ever one K block here).
template <typename T>
GLM_TARGET_AVX2 void storeRow(const Tile<T>& t, int64_t i, int64_t j, const float* v, int64_t n, const TileOp& op) {
  const __m256 alpha = _mm256_set1_ps(op.alpha), beta = _mm256_set1_ps(op.beta);
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    const int64_t o = i * t.ldc + j + c;
    __m256 x = _mm256_mul_ps(_mm256_loadu_ps(v + c), alpha);
    if (op.beta != 0.0f) x = _mm256_fmadd_ps(beta, simd::load8(t.c + o), x);
    if (t.bias) x = _mm256_add_ps(x, _mm256_loadu_ps(t.bias + j + c));
    if (t.pre) simd::store8(t.pre + o, x);
    if (op.gelu) x = simd::gelu256(x);
    simd::store8(t.c + o, x);
  }
  for (; c < n; c++) storeOne(t, i, j + c, v[c], op);
}

GLM_TARGET_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// out[i][jj] = Σ_k A[i][k]·B[j + jj][k] for i < R, jj < cols (<= 4); A and B rows have length K.
// One row of B at a time, front to back, with U independent sums along K per A row, so that B is
// read as one sequential stream (see gemm_small.cpp: four interleaved rows read DRAM at half speed).
template <typename T, int R>
GLM_TARGET_AVX2 void dots(float out[][4], const float* A, const T* B, int64_t K, int64_t j, int cols) {
  constexpr int U = R == 1 ? 4 : R == 2 ? 3 : 2;  // R·U accumulators + B + A within 16 registers
  const int64_t K8 = K / 8 * 8;
  for (int jj = 0; jj < cols; jj++) {
    const T* row = B + (j + jj) * K;
    __m256 acc[R][U];
    for (int i = 0; i < R; i++)
      for (int u = 0; u < U; u++) acc[i][u] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 * U <= K8; k += 8 * U) {
#pragma GCC unroll 4
      for (int u = 0; u < U; u++) {
        const __m256 b = simd::load8(row + k + 8 * u);
#pragma GCC unroll 3
        for (int i = 0; i < R; i++) acc[i][u] = _mm256_fmadd_ps(_mm256_loadu_ps(A + i * K + k + 8 * u), b, acc[i][u]);
      }
    }
    for (; k < K8; k += 8) {
      const __m256 b = simd::load8(row + k);
#pragma GCC unroll 3
      for (int i = 0; i < R; i++) acc[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(A + i * K + k), b, acc[i][0]);
    }
    for (int i = 0; i < R; i++) {
      __m256 v = acc[i][0];
      for (int u = 1; u < U; u++) v = _mm256_add_ps(v, acc[i][u]);
      float s = hsum8(v);
      for (int64_t t = K8; t < K; t++) s += A[i * K + t] * toF32(row[t]);
      out[i][jj] = s;
    }
  }
}

// out[i][0, n) = Σ_k A[i][k]·B[k][j + (0, n)] for i < R, n <= 32; B rows have length ldb. out rows
// (ldo apart) have room for 32 values: whole vectors are stored even where n < 32.
template <typename T, int R>
GLM_TARGET_AVX2 void axpys(float* out, int64_t ldo, const float* A, const T* B, int64_t ldb, int64_t K, int64_t j,
                           int n) {
  const int nv = n / 8;  // whole vectors; the other n % 8 columns are scalar below
  __m256 acc[R][4];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < 4; v++) acc[i][v] = _mm256_setzero_ps();
  if (nv == 4) {
    for (int64_t k = 0; k < K; k++) {
      const T* row = B + k * ldb + j;
      __m256 b[4];
#pragma GCC unroll 4
      for (int v = 0; v < 4; v++) b[v] = simd::load8(row + 8 * v);
#pragma GCC unroll 4
      for (int i = 0; i < R; i++) {
        const __m256 a = _mm256_broadcast_ss(A + i * K + k);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) acc[i][v] = _mm256_fmadd_ps(a, b[v], acc[i][v]);
      }
    }
  } else {
    for (int64_t k = 0; k < K; k++) {
      const T* row = B + k * ldb + j;
      for (int v = 0; v < nv; v++) {
        const __m256 b = simd::load8(row + 8 * v);
        for (int i = 0; i < R; i++) acc[i][v] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + i * K + k), b, acc[i][v]);
      }
    }
  }
  for (int i = 0; i < R; i++)
    for (int v = 0; v < 4; v++) _mm256_storeu_ps(out + i * ldo + 8 * v, acc[i][v]);
  for (int c = 8 * nv; c < n; c++)
    for (int i = 0; i < R; i++) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; k++) s += A[i * K + k] * toF32(B[k * ldb + j + c]);
      out[i * ldo + c] = s;
    }
}

template <typename T, int M>
void columnsM(const float* A, const T* B, bool transB, int64_t K, int64_t N, int64_t j0, int64_t j1, const Tile<T>& t,
              const TileOp& op) {
  constexpr int64_t kChunk = 256;  // a multiple of the 32 columns of an axpys call
  alignas(32) float vals[M][kChunk];
  for (int64_t c0 = j0; c0 < j1; c0 += kChunk) {
    const int64_t c1 = std::min(j1, c0 + kChunk);
    if (transB) {
      for (int64_t j = c0; j < c1; j += 4) {
        const int cols = int(std::min<int64_t>(4, c1 - j));
        float out[3][4];
        for (int i0 = 0; i0 < M; i0 += 3) {
          const float* a = A + i0 * K;
          switch (std::min(3, M - i0)) {
            case 1: dots<T, 1>(out, a, B, K, j, cols); break;
            case 2: dots<T, 2>(out, a, B, K, j, cols); break;
            default: dots<T, 3>(out, a, B, K, j, cols); break;
          }
          for (int i = 0; i < std::min(3, M - i0); i++)
            for (int jj = 0; jj < cols; jj++) vals[i0 + i][j - c0 + jj] = out[i][jj];
        }
      }
    } else {
      for (int64_t j = c0; j < c1; j += 32) {
        const int n = int(std::min<int64_t>(32, c1 - j));
        for (int i0 = 0; i0 < M; i0 += 2) {
          if (M - i0 >= 2) axpys<T, 2>(&vals[i0][j - c0], kChunk, A + i0 * K, B, N, K, j, n);
          else axpys<T, 1>(&vals[i0][j - c0], kChunk, A + i0 * K, B, N, K, j, n);
        }
      }
    }
    for (int i = 0; i < M; i++) storeRow(t, i, c0, vals[i], c1 - c0, op);
  }
}

}  // namespace

template <typename T>
void smallRows256(const float* A, int M, const T* B, bool transB, int64_t K, int64_t N, int64_t j0, int64_t j1,
                  const Tile<T>& t, const TileOp& op) {
  withRowCount<kSmallRowsMaxAvx2>(M, [&](auto rows) { columnsM<T, decltype(rows)::value>(A, B, transB, K, N, j0, j1, t, op); });
}

template void smallRows256<float>(const float*, int, const float*, bool, int64_t, int64_t, int64_t, int64_t,
                                  const Tile<float>&, const TileOp&);
template void smallRows256<bf16>(const float*, int, const bf16*, bool, int64_t, int64_t, int64_t, int64_t,
                                 const Tile<bf16>&, const TileOp&);

}  // namespace glm::cpu::gemm
