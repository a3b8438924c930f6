// CPU GEMM with fused bias and GELU epilogue. T is float or bf16 (bf16 is widened to f32 while
// packing; accumulation is always f32).
//
// Shapes (row-major): for each batch index z,
//   C[z] (M, N) = alpha * op(A[z]) · op(B[z]) + beta * C[z]   (+ bias (N)) (then GELU when asked)
//   op(A) is A (M, K), or A stored as (K, M) when transA; op(B) is B (K, N), or B stored (N, K) when transB.
// strideA/strideB/strideC are the element distances between batch items; 0 broadcasts one matrix
// over the whole batch (e.g. a weight shared by every item).
// Gradient convention: none here; callers compute dA = dC·op(B)ᵀ etc. with more matmuls.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm {

enum class Epilogue : int { None = 0, Gelu = 1 };

struct GemmParams {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  bool transA = false, transB = false;
  int64_t strideA = 0, strideB = 0, strideC = 0;
  float alpha = 1.0f, beta = 0.0f;
  Epilogue epilogue = Epilogue::None;
};

namespace cpu {

// preact (batch, M, N), optional: receives alpha·op(A)·op(B) + beta·C + bias before GELU (needed by
// GELU's backward). bias may be null. C must not overlap A, B or bias.
template <typename T>
void matmul(T* C, T* preact, const T* A, const T* B, const T* bias, const GemmParams& p);

}  // namespace cpu
}  // namespace glm
