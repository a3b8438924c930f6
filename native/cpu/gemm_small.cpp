// GEMM for very few rows of C (M <= 8: a token at a time in generation, a small batch of them),
// AVX-512. Such products are bound by reading B once, so B is streamed straight from its own
// layout instead of being packed (which would read it, write it and read it again):
// - B stored (N, K) (transB, nn.Linear weights): dot products of each A row with B's rows, one row
//   at a time (a sequential stream), vectorised along K, reduced at the end;
// - B stored (K, N): each k step adds A[i][k] times a 64-wide piece of B's row k.
// The epilogue runs on 16 values at a time, as in the main kernel.
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

#include <algorithm>

#include "gemm_internal.h"
#include "vec_io.h"

namespace glm::cpu::gemm {
namespace {

// Epilogue of n values v of row i, from column j (only ever one K block here).
template <typename T>
GLM_TARGET_AVX512 void storeRow(const Tile<T>& t, int64_t i, int64_t j, const float* v, int64_t n, const TileOp& op) {
  const __m512 alpha = _mm512_set1_ps(op.alpha), beta = _mm512_set1_ps(op.beta);
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 m = n - c >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - c)) - 1);
    const int64_t o = i * t.ldc + j + c;
    __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, v + c), alpha);
    if (op.beta != 0.0f) x = _mm512_fmadd_ps(beta, simd::load16(t.c + o, m), x);
    if (t.bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, t.bias + j + c));
    if (t.pre) simd::store16(t.pre + o, x, m);
    if (op.gelu) x = simd::gelu512(x);
    simd::store16(t.c + o, x, m);
  }
}

// out[i][jj] = Σ_k A[i][k]·B[j + jj][k] for i < M, jj < cols (<= 4); B rows have length K.
// One row of B at a time, front to back, with U independent sums along K per A row: the product
// then reads B as one sequential stream, which the hardware prefetchers follow at close to memory
// bandwidth. Four rows interleaved (four streams K floats apart, each only K long) read B at less
// than half that from DRAM (8-10 against ~20 GB/s on one Zen 4 core), and DRAM is where a decode
// step's weights are once the model outgrows the L3 (the small preset's 42 MB, say).
template <typename T, int M>
GLM_TARGET_AVX512 void dots(float out[][4], const float* A, const T* B, int64_t K, int64_t j, int cols) {
  constexpr int U = M <= 2 ? 4 : 2;
  for (int jj = 0; jj < cols; jj++) {
    const T* row = B + (j + jj) * K;
    __m512 acc[M][U];
#pragma GCC unroll 8
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
      for (int u = 0; u < U; u++) acc[i][u] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 * U <= K; k += 16 * U) {
#pragma GCC unroll 4
      for (int u = 0; u < U; u++) {
        const __m512 b = simd::load16(row + k + 16 * u);
#pragma GCC unroll 8
        for (int i = 0; i < M; i++) acc[i][u] = _mm512_fmadd_ps(_mm512_loadu_ps(A + i * K + k + 16 * u), b, acc[i][u]);
      }
    }
    for (; k < K; k += 16) {
      const __mmask16 m = K - k >= 16 ? __mmask16(0xffff) : __mmask16((1u << (K - k)) - 1);
      const __m512 b = simd::load16(row + k, m);
#pragma GCC unroll 8
      for (int i = 0; i < M; i++) acc[i][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, A + i * K + k), b, acc[i][0]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < M; i++) {
      __m512 s = acc[i][0];
#pragma GCC unroll 4
      for (int u = 1; u < U; u++) s = _mm512_add_ps(s, acc[i][u]);
      out[i][jj] = _mm512_reduce_add_ps(s);
    }
  }
}

// out[i][0, n) = Σ_k A[i][k]·B[k][j + (0, n)] for i < M, n <= 64; B rows have length ldb.
template <typename T, int M>
GLM_TARGET_AVX512 void axpys(float* out, int64_t ldo, const float* A, const T* B, int64_t ldb, int64_t K, int64_t j,
                             int n) {
  __m512 acc[M][4];
  for (int i = 0; i < M; i++)
    for (int v = 0; v < 4; v++) acc[i][v] = _mm512_setzero_ps();
  __mmask16 m[4];
  for (int v = 0; v < 4; v++) {
    const int left = n - 16 * v;
    m[v] = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
  }
  for (int64_t k = 0; k < K; k++) {
    const T* row = B + k * ldb + j;
    __m512 b[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) b[v] = simd::load16(row + 16 * v, m[v]);
#pragma GCC unroll 4
    for (int i = 0; i < M; i++) {
      const __m512 a = _mm512_set1_ps(A[i * K + k]);
#pragma GCC unroll 4
      for (int v = 0; v < 4; v++) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
    }
  }
  for (int i = 0; i < M; i++)
    for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(out + i * ldo + 16 * v, m[v], acc[i][v]);
}

template <typename T, int M>
void columnsM(const float* A, const T* B, bool transB, int64_t K, int64_t N, int64_t j0, int64_t j1, const Tile<T>& t,
              const TileOp& op) {
  constexpr int64_t kChunk = 256;
  alignas(64) float vals[M][kChunk];
  for (int64_t c0 = j0; c0 < j1; c0 += kChunk) {
    const int64_t c1 = std::min(j1, c0 + kChunk);
    if (transB) {
      for (int64_t j = c0; j < c1; j += 4) {
        const int cols = int(std::min<int64_t>(4, c1 - j));
        float out[M][4];
        dots<T, M>(out, A, B, K, j, cols);
        for (int i = 0; i < M; i++)
          for (int jj = 0; jj < cols; jj++) vals[i][j - c0 + jj] = out[i][jj];
      }
    } else {
      // At most 4 rows per pass (16 accumulators + 4 B vectors); a second pass over the same 64-column
      // strip of B reads it from L1/L2, so memory still sees B once.
      for (int64_t j = c0; j < c1; j += 64) {
        const int n = int(std::min<int64_t>(64, c1 - j));
        if constexpr (M <= 4) {
          axpys<T, M>(&vals[0][j - c0], kChunk, A, B, N, K, j, n);
        } else {
          axpys<T, 4>(&vals[0][j - c0], kChunk, A, B, N, K, j, n);
          axpys<T, M - 4>(&vals[4][j - c0], kChunk, A + 4 * K, B, N, K, j, n);
        }
      }
    }
    for (int i = 0; i < M; i++) storeRow(t, i, c0, vals[i], c1 - c0, op);
  }
}

}  // namespace

template <typename T>
void smallRows512(const float* A, int M, const T* B, bool transB, int64_t K, int64_t N, int64_t j0, int64_t j1,
                  const Tile<T>& t, const TileOp& op) {
  withRowCount<kSmallRowsMax>(M, [&](auto rows) { columnsM<T, decltype(rows)::value>(A, B, transB, K, N, j0, j1, t, op); });
}

template void smallRows512<float>(const float*, int, const float*, bool, int64_t, int64_t, int64_t, int64_t,
                                  const Tile<float>&, const TileOp&);
template void smallRows512<bf16>(const float*, int, const bf16*, bool, int64_t, int64_t, int64_t, int64_t,
                                 const Tile<bf16>&, const TileOp&);

}  // namespace glm::cpu::gemm
