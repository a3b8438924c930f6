// The portable GEMM micro-kernel (baseline x86-64 or any CPU): a 4×8 tile accumulated in plain C++
// that the compiler keeps in SSE registers. Used when the CPU has neither AVX2+FMA nor AVX-512, and
// by the tests (GLM_CPU_LEVEL=scalar) so that this path stays correct.
#include "gemm_internal.h"

namespace glm::cpu::gemm {
namespace {

constexpr int kMR = 4, kNR = 8;

template <typename T>
void kernelScalar(int rows, int cols, int64_t kc, const float* A, const float* B, const Tile<T>& t, const TileOp& op) {
  float acc[kMR * kNR] = {};
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < kMR; i++) {
      // Rows past `rows` are unwritten in the packed panel: never read them.
      const float a = i < rows ? A[i] : 0.0f;
      for (int j = 0; j < kNR; j++) acc[i * kNR + j] += a * B[j];
    }
    A += kMR;
    B += kNR;
  }
  storeTile(t, acc, kNR, rows, cols, op);
}

}  // namespace

extern const LevelInfo kLevelScalar = {kMR, kNR, kNR, &kernelScalar<float>, &kernelScalar<bf16>};

}  // namespace glm::cpu::gemm
