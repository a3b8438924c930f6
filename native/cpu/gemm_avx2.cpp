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

// The full 6×16 product, in inline assembly: accumulators in ymm0-11, the two B vectors of a k
// step in ymm12-13, A broadcasts alternating in ymm14-15. Written with intrinsics, GCC 12 spills
// accumulators inside the loop (as an array it even stores all 12 every other k step), which
// costs a third to a half of the kernel's speed. k is unrolled by 4; the B panel (streamed from
// L2) is prefetched 8 steps ahead.
GLM_TARGET_AVX2 inline void product6x16(int64_t kc, const float* A, const float* B, __m256 out[6][2]) {
  int64_t k4 = kc >> 2, k1 = kc & 3;
  asm volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
      "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"
      "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
      "test %[k4], %[k4]\n\t"
      "jz 2f\n\t"
      "1:\n\t"
      "vmovaps 0(%[B]), %%ymm12\n\t"
      "vmovaps 32(%[B]), %%ymm13\n\t"
      "prefetcht0 512(%[B])\n\t"
      "vbroadcastss 0(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
      "vbroadcastss 4(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
      "vbroadcastss 8(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
      "vbroadcastss 12(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
      "vbroadcastss 16(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
      "vbroadcastss 20(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
      "vmovaps 64(%[B]), %%ymm12\n\t"
      "vmovaps 96(%[B]), %%ymm13\n\t"
      "prefetcht0 576(%[B])\n\t"
      "vbroadcastss 24(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
      "vbroadcastss 28(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
      "vbroadcastss 32(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
      "vbroadcastss 36(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
      "vbroadcastss 40(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
      "vbroadcastss 44(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
      "vmovaps 128(%[B]), %%ymm12\n\t"
      "vmovaps 160(%[B]), %%ymm13\n\t"
      "prefetcht0 640(%[B])\n\t"
      "vbroadcastss 48(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
      "vbroadcastss 52(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
      "vbroadcastss 56(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
      "vbroadcastss 60(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
      "vbroadcastss 64(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
      "vbroadcastss 68(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
      "vmovaps 192(%[B]), %%ymm12\n\t"
      "vmovaps 224(%[B]), %%ymm13\n\t"
      "prefetcht0 704(%[B])\n\t"
      "vbroadcastss 72(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
      "vbroadcastss 76(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
      "vbroadcastss 80(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
      "vbroadcastss 84(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
      "vbroadcastss 88(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
      "vbroadcastss 92(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
      "add $96, %[A]\n\t"
      "add $256, %[B]\n\t"
      "dec %[k4]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "test %[k1], %[k1]\n\t"
      "jz 4f\n\t"
      "3:\n\t"
      "vmovaps 0(%[B]), %%ymm12\n\t"
      "vmovaps 32(%[B]), %%ymm13\n\t"
      "prefetcht0 512(%[B])\n\t"
      "vbroadcastss 0(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
      "vbroadcastss 4(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
      "vbroadcastss 8(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
      "vbroadcastss 12(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
      "vbroadcastss 16(%[A]), %%ymm14\n\t"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
      "vbroadcastss 20(%[A]), %%ymm15\n\t"
      "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
      "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
      "add $24, %[A]\n\t"
      "add $64, %[B]\n\t"
      "dec %[k1]\n\t"
      "jnz 3b\n\t"
      "4:\n\t"
      "vmovups %%ymm0, 0(%[C])\n\t"
      "vmovups %%ymm1, 32(%[C])\n\t"
      "vmovups %%ymm2, 64(%[C])\n\t"
      "vmovups %%ymm3, 96(%[C])\n\t"
      "vmovups %%ymm4, 128(%[C])\n\t"
      "vmovups %%ymm5, 160(%[C])\n\t"
      "vmovups %%ymm6, 192(%[C])\n\t"
      "vmovups %%ymm7, 224(%[C])\n\t"
      "vmovups %%ymm8, 256(%[C])\n\t"
      "vmovups %%ymm9, 288(%[C])\n\t"
      "vmovups %%ymm10, 320(%[C])\n\t"
      "vmovups %%ymm11, 352(%[C])\n\t"
      : [A] "+r"(A), [B] "+r"(B), [k4] "+r"(k4), [k1] "+r"(k1)
      : [C] "r"(&out[0][0])
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

// An edge tile's product (fewer rows, or 8 columns). Its accumulators live in a local array that
// only ever sees constant indices, so GCC keeps it in registers; the caller's array, which the
// epilogue indexes in loops, would be kept on the stack and stored at every k step.
template <int ROWS, int NV>
GLM_TARGET_AVX2 inline void productEdge(int64_t kc, const float* A, const float* B, __m256 out[][NV]) {
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
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) out[i][v] = c[i][v];
}

template <typename T, int ROWS, int NV>
GLM_TARGET_AVX2 void tile256(int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t,
                             const TileOp& op) {
  constexpr int W = NV * 8;
  __m256 c[ROWS][NV];
  if constexpr (ROWS == 6 && NV == 2) product6x16(kc, A, B, c);
  else productEdge<ROWS, NV>(kc, A, B, c);

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

extern const LevelInfo kLevelAvx2 = {kMR, 16, 8, &kernel256<float>, &kernel256<bf16>, false, 0, nullptr, nullptr, true};

}  // namespace glm::cpu::gemm
