// Internals of the CPU GEMM shared by the driver (matmul.cpp), the packing routines (gemm_pack.cpp)
// and the micro-kernels (gemm_avx512.cpp, gemm_avx2.cpp, gemm_scalar.cpp, and gemm_small.cpp and
// gemm_small_avx2.cpp for products of very few rows). Not a public API.
//
// Packed formats (all f32, whatever the input type: bf16 is widened while packing):
// - an A panel holds MR rows of op(A) for kc steps of k, either k-major: panel[k·MR + r], or (AVX-512,
//   when A is not transposed, so that packing is a plain copy instead of a transpose) row-major:
//   panel[r·lds + k] with lds = aRowStride(kc) (padded so that the rows fall in different L1 sets).
//   A last panel with fewer rows leaves its unused slots unwritten (the kernel for that row count
//   never reads them);
// - a B panel holds w columns of op(B) for kc steps of k, k-major: panel[k·w + j]; w is NR, or for the
//   last panel of a block the column count rounded up to the vector width, zero-padded. Exception: a
//   last panel of at most narrowMax columns meets row-major A panels column-major: panel[j·kc + k].
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../core/dtype.h"
#include "gelu_simd.h"

namespace glm::cpu::gemm {

// What a micro-kernel does with its finished tile, for one K block.
struct TileOp {
  float alpha = 1.0f, beta = 0.0f;
  bool first = true;  // the first K block: add beta·C (when beta != 0) instead of the partial sums
  bool last = true;   // the last K block: add bias, write preact, apply GELU, store T into C
  bool gelu = false;
  int64_t aRowStride = 0;  // A panels are row-major with this stride; 0: k-major
};

inline int64_t aRowStride(int64_t kc) { return (kc + 15) / 16 * 16 + 16; }

// Where a tile's results go, each pointer already at the tile's first row and column.
template <typename T> struct Tile {
  T* c = nullptr;
  int64_t ldc = 0;
  float* acc = nullptr;  // f32 partial sums kept between K blocks (C itself when T is float)
  int64_t ldacc = 0;
  T* pre = nullptr;      // the pre-activation output (leading dimension ldc), or null
  const float* bias = nullptr;  // bias at the tile's first column (f32), or null
};

// C tile (rows × cols) = epilogue(A panel · B panel) over kc steps. rows <= MR, cols <= panel width.
template <typename T>
using KernelFn = void (*)(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                          const TileOp& op);

// The register blocking of one instruction-set level.
struct LevelInfo {
  int mr, nr, vec;  // micro-tile rows, columns, and the column granularity of a last B panel
  KernelFn<float> kernelF32;
  KernelFn<bf16> kernelBf16;
  bool aRowMajor = false;  // the kernels also take row-major A panels (TileOp::aRowStride)
  // For a last B panel of at most narrowMax columns (0: none), a kernel that vectorises over rows.
  int narrowMax = 0;
  KernelFn<float> narrowF32 = nullptr;
  KernelFn<bf16> narrowBf16 = nullptr;
  // Size a thread's B block from this machine's L2, keep the shared A block small and split work
  // finer (matmul.cpp: Blocking, makePlan).
  bool bBlockFromL2 = false;
};

const LevelInfo& levelInfo(int level);  // 0 scalar, 1 AVX2+FMA, 2 AVX-512
template <typename T> KernelFn<T> kernelFor(const LevelInfo& L);
template <> inline KernelFn<float> kernelFor<float>(const LevelInfo& L) { return L.kernelF32; }
template <> inline KernelFn<bf16> kernelFor<bf16>(const LevelInfo& L) { return L.kernelBf16; }
template <typename T> KernelFn<T> narrowKernelFor(const LevelInfo& L);
template <> inline KernelFn<float> narrowKernelFor<float>(const LevelInfo& L) { return L.narrowF32; }
template <> inline KernelFn<bf16> narrowKernelFor<bf16>(const LevelInfo& L) { return L.narrowBf16; }

// Packs rows [i0, i0 + rows) × k [k0, k0 + kc) of op(A) into an A panel of height mr.
// op(A)[i][k] is A[i·lda + k], or A[k·lda + i] when trans.
template <typename T>
void packA(float* dst, const T* A, int64_t lda, bool trans, int64_t i0, int rows, int64_t k0, int64_t kc, int mr,
           int level);
// Packs rows [i0, i0 + rows) × k [k0, k0 + kc) of A (not transposed: A[i·lda + k]) into a row-major
// A panel with row stride lds.
template <typename T>
void packARows(float* dst, const T* A, int64_t lda, int64_t i0, int rows, int64_t k0, int64_t kc, int64_t lds);
// Packs k [k0, k0 + kc) × columns [j0, j0 + cols) of op(B) column-major: dst[j·kc + k].
template <typename T>
void packBColumns(float* dst, const T* B, int64_t ldb, bool trans, int64_t j0, int cols, int64_t k0, int64_t kc);
// Packs k [k0, k0 + kc) × columns [j0, j0 + cols) of op(B) into a B panel of width w >= cols.
// op(B)[k][j] is B[k·ldb + j], or B[j·ldb + k] when trans.
template <typename T>
void packB(float* dst, const T* B, int64_t ldb, bool trans, int64_t j0, int cols, int64_t k0, int64_t kc, int w,
           int level);

// Calls f(std::integral_constant<int, M>{}) for a run-time 1 <= M <= MaxM (nothing otherwise): the
// few-row kernels are templates on their row count.
template <int MaxM, int Try = 1, typename F>
inline void withRowCount(int M, F&& f) {
  if constexpr (Try <= MaxM) {
    if (M == Try) f(std::integral_constant<int, Try>{});
    else withRowCount<MaxM, Try + 1>(M, std::forward<F>(f));
  }
}

// C rows [0, M) × columns [j0, j1) for M <= kSmallRowsMax, AVX-512, without packing (gemm_small.cpp).
// A is M × K f32, contiguous; B is T, stored (K, N) or, with transB, (N, K). t is at C's origin;
// one K block only (op.first and op.last).
// Up to 8 rows, as on AVX2: batch-8 decoding steps stream each weight once instead of packing it
// (which read 1.8 MB, wrote it and read it again, at ~7 GB/s on a 2-core Zen 4).
constexpr int kSmallRowsMax = 8;
template <typename T>
void smallRows512(const float* A, int M, const T* B, bool transB, int64_t K, int64_t N, int64_t j0, int64_t j1,
                  const Tile<T>& t, const TileOp& op);
// The same for M <= kSmallRowsMaxAvx2, AVX2+FMA (gemm_small_avx2.cpp). Up to 8 rows: batch-8 decoding
// steps, where packing B cost more than the product.
constexpr int kSmallRowsMaxAvx2 = 8;
template <typename T>
void smallRows256(const float* A, int M, const T* B, bool transB, int64_t K, int64_t N, int64_t j0, int64_t j1,
                  const Tile<T>& t, const TileOp& op);

// The epilogue of one value (scalar paths and tile edges).
template <typename T>
inline void storeOne(const Tile<T>& t, int64_t i, int64_t j, float x, const TileOp& op) {
  x *= op.alpha;
  if (op.first) {
    if (op.beta != 0.0f) x += op.beta * toF32(t.c[i * t.ldc + j]);
  } else {
    x += t.acc[i * t.ldacc + j];
  }
  if (op.last) {
    if (t.bias) x += t.bias[j];
    if (t.pre) t.pre[i * t.ldc + j] = fromF32<T>(x);
    if (op.gelu) x = simd::geluScalar(x);
    t.c[i * t.ldc + j] = fromF32<T>(x);
  } else {
    t.acc[i * t.ldacc + j] = x;
  }
}

// The epilogue of a tile held in a local buffer (rows × cols, leading dimension ld).
template <typename T>
inline void storeTile(const Tile<T>& t, const float* buf, int ld, int rows, int cols, const TileOp& op) {
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) storeOne(t, i, j, buf[i * ld + j], op);
}

}  // namespace glm::cpu::gemm
