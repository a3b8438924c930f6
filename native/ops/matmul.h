// Dispatch of the matmul op (GEMM with fused bias and GELU epilogue) to the CPU or CUDA kernel.
#pragma once
#include <optional>

#include "../core/tensor.h"
#include "../cpu/matmul.h"

namespace glm {

// out [..., M, N] = alpha · op(a) · op(b) + beta · out (+ bias [N]) (then GELU when epilogue is Gelu).
// a is [..., M, K] ([..., K, M] with transA); b is [..., K, N] ([..., N, K] with transB). Either
// operand may be a 2-D matrix shared by every batch item of the other; if both are batched, their
// leading dims are equal. preact (out's shape, optional) receives the value before GELU.
// out and preact must not overlap the inputs or each other.
void matmulOp(const TensorRef& out, const std::optional<TensorRef>& preact, const TensorRef& a, const TensorRef& b,
              const std::optional<TensorRef>& bias, bool transA, bool transB, float alpha, float beta,
              Epilogue epilogue);

}  // namespace glm
