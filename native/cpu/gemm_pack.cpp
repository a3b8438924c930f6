// Packing of GEMM operands into the panel layouts of gemm_internal.h. Packing is where transposes
// and bf16 -> f32 widening happen, so the micro-kernels only ever see one layout.
//
// Two access patterns occur: "copy" (the panel's fast index is contiguous in memory: op(A) with
// transA, op(B) without transB) and "gather" (the panel's fast index strides through memory: op(A)
// without transA, op(B) with transB). Gathers are done in blocks of 16 k steps, so that the source
// lines (one per row) and the destination block both stay in L1; with AVX-512 a 16×16 block is
// transposed in registers. On AVX-512 untransposed A avoids the gather: its rows are copied as they
// are (packARows) into row-major panels, which the kernel takes too.
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "gemm_internal.h"
#include "vec_io.h"

namespace glm::cpu::gemm {
namespace {

// dst[k·w + j] = src[k·ld + j] for j < cols, zero for cols <= j < w.
template <typename T>
void packCopy(float* dst, const T* src, int64_t ld, int cols, int64_t kc, int w) {
  for (int64_t k = 0; k < kc; k++) {
    const T* s = src + k * ld;
    float* d = dst + k * w;
    if constexpr (std::is_same_v<T, float>) {
      // Full panels of 16 or 32 columns copy with a constant size, which the compiler inlines: a
      // memcpy call per 64-byte row was a tenth of a 512³ product's time.
      if (cols == 16) std::memcpy(d, s, sizeof(float) * 16);
      else if (cols == 32) std::memcpy(d, s, sizeof(float) * 32);
      else std::memcpy(d, s, sizeof(float) * cols);
    } else {
      for (int j = 0; j < cols; j++) d[j] = toF32(s[j]);
    }
    for (int j = cols; j < w; j++) d[j] = 0.0f;
  }
}

// dst[k·w + j] = src[j·ld + k] for j < cols, zero for cols <= j < w.
template <typename T>
void packGather(float* dst, const T* src, int64_t ld, int cols, int64_t kc, int w) {
  constexpr int64_t kBlock = 16;
  for (int64_t k0 = 0; k0 < kc; k0 += kBlock) {
    const int64_t kn = std::min(kBlock, kc - k0);
    for (int j = 0; j < cols; j++) {
      const T* s = src + j * ld + k0;
      float* d = dst + k0 * w + j;
      for (int64_t k = 0; k < kn; k++) d[k * w] = toF32(s[k]);
    }
    for (int64_t k = 0; k < kn; k++)
      for (int j = cols; j < w; j++) dst[(k0 + k) * w + j] = 0.0f;
  }
}

// 16×16 transpose in zmm registers: r[i] holds row i on entry and column i on exit.
GLM_TARGET_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // Each 128-bit lane now holds a 4×4 block; gather the lanes.
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
  }
}

// packGather with 16×16 register transposes for groups of 16 columns and 16 k steps; rows of a
// group past `cols` load as zero, so padding comes for free. Remaining k steps fall back to scalar.
template <typename T>
GLM_TARGET_AVX512 void packGather512(float* dst, const T* src, int64_t ld, int cols, int64_t kc, int w) {
  const int64_t kFull = kc & ~int64_t(15);
  for (int j0 = 0; j0 < w; j0 += 16) {
    const int nj = std::max(0, std::min(16, cols - j0));
    for (int64_t k0 = 0; k0 < kFull; k0 += 16) {
      __m512 r[16];
      for (int j = 0; j < 16; j++)
        r[j] = j < nj ? simd::load16(src + (j0 + j) * ld + k0) : _mm512_setzero_ps();
      transpose16(r);
      for (int k = 0; k < 16; k++) _mm512_storeu_ps(dst + (k0 + k) * w + j0, r[k]);
    }
  }
  if (kFull < kc) packGather(dst + kFull * w, src + kFull, ld, cols, kc - kFull, w);
}

// The same transposes for an A panel of mr (< 16) rows: only the first mr lanes of each transposed
// column are stored.
template <typename T>
GLM_TARGET_AVX512 void packGatherRows512(float* dst, const T* src, int64_t ld, int rows, int64_t kc, int mr) {
  const int64_t kFull = kc & ~int64_t(15);
  const __mmask16 m = __mmask16((1u << mr) - 1);
  for (int64_t k0 = 0; k0 < kFull; k0 += 16) {
    __m512 r[16];
    for (int j = 0; j < 16; j++) r[j] = j < rows ? simd::load16(src + j * ld + k0) : _mm512_setzero_ps();
    transpose16(r);
    for (int k = 0; k < 16; k++) _mm512_mask_storeu_ps(dst + (k0 + k) * mr, m, r[k]);
  }
  if (kFull < kc) packGather(dst + kFull * mr, src + kFull, ld, rows, kc - kFull, mr);
}

// 8×8 transpose in ymm registers: r[i] holds row i on entry and column i on exit.
GLM_TARGET_AVX2 inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// packGather for an A panel of mr (<= 8) rows with 8×8 register transposes (AVX2): each k step's
// mr values are stored 8 wide, the extra lanes landing in the next step's slots before that step is
// stored; only the panel's very last step is stored masked. Rows past `rows` load as zero.
template <typename T>
GLM_TARGET_AVX2 void packGatherRows256(float* dst, const T* src, int64_t ld, int rows, int64_t kc, int mr) {
  const int64_t kFull = kc & ~int64_t(7);
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(mr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int64_t k0 = 0; k0 < kFull; k0 += 8) {
    __m256 r[8];
    for (int j = 0; j < 8; j++) r[j] = j < rows ? simd::load8(src + j * ld + k0) : _mm256_setzero_ps();
    transpose8(r);
    for (int k = 0; k < 8; k++) {
      float* d = dst + (k0 + k) * mr;
      if (k0 + k == kc - 1) _mm256_maskstore_ps(d, tail, r[k]);
      else _mm256_storeu_ps(d, r[k]);
    }
  }
  if (kFull < kc) packGather(dst + kFull * mr, src + kFull, ld, rows, kc - kFull, mr);
}

}  // namespace

template <typename T>
void packA(float* dst, const T* A, int64_t lda, bool trans, int64_t i0, int rows, int64_t k0, int64_t kc, int mr,
           int level) {
  if (trans) {
    packCopy(dst, A + k0 * lda + i0, lda, rows, kc, mr);
  } else if (level >= 2 && mr <= 16) {
    packGatherRows512(dst, A + i0 * lda + k0, lda, rows, kc, mr);
  } else if (level == 1 && mr <= 8) {
    packGatherRows256(dst, A + i0 * lda + k0, lda, rows, kc, mr);
  } else {
    packGather(dst, A + i0 * lda + k0, lda, rows, kc, mr);
  }
}

template <typename T>
void packARows(float* dst, const T* A, int64_t lda, int64_t i0, int rows, int64_t k0, int64_t kc, int64_t lds) {
  for (int r = 0; r < rows; r++) {
    const T* s = A + (i0 + r) * lda + k0;
    float* d = dst + r * lds;
    if constexpr (std::is_same_v<T, float>) std::memcpy(d, s, sizeof(float) * kc);
    else for (int64_t k = 0; k < kc; k++) d[k] = toF32(s[k]);
  }
}

template <typename T>
void packBColumns(float* dst, const T* B, int64_t ldb, bool trans, int64_t j0, int cols, int64_t k0, int64_t kc) {
  if (trans) packCopy(dst, B + j0 * ldb + k0, ldb, int(kc), cols, int(kc));  // rows of B are columns of op(B)
  else packGather(dst, B + k0 * ldb + j0, ldb, int(kc), cols, int(kc));
}

template <typename T>
void packB(float* dst, const T* B, int64_t ldb, bool trans, int64_t j0, int cols, int64_t k0, int64_t kc, int w,
           int level) {
  if (!trans) {
    packCopy(dst, B + k0 * ldb + j0, ldb, cols, kc, w);
  } else if (level >= 2 && w % 16 == 0) {
    packGather512(dst, B + j0 * ldb + k0, ldb, cols, kc, w);
  } else {
    packGather(dst, B + j0 * ldb + k0, ldb, cols, kc, w);
  }
}

#define GLM_INSTANTIATE(T)                                                                                 \
  template void packA<T>(float*, const T*, int64_t, bool, int64_t, int, int64_t, int64_t, int, int);       \
  template void packB<T>(float*, const T*, int64_t, bool, int64_t, int, int64_t, int64_t, int, int);       \
  template void packBColumns<T>(float*, const T*, int64_t, bool, int64_t, int, int64_t, int64_t);           \
  template void packARows<T>(float*, const T*, int64_t, int64_t, int, int64_t, int64_t, int64_t);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cpu::gemm
