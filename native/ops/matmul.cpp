// Dispatch for matmul; see matmul.h. Turns tensor shapes into GemmParams (batch, strides, the
// collapse of a batch over a shared b into one taller GEMM) after checking every argument.
#include "matmul.h"

#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/matmul.h"
#endif

namespace glm {

void matmulOp(const TensorRef& out, const std::optional<TensorRef>& preact, const TensorRef& a, const TensorRef& b,
              const std::optional<TensorRef>& bias, bool transA, bool transB, float alpha, float beta,
              Epilogue epilogue) {
  const char* op = "matmul";
  requireDType(op, "a", a, {DType::F32, DType::BF16});
  requireSameDType(op, "b", b, a, "a");
  requireSameDType(op, "out", out, a, "a");
  const Device dev = a.device();
  requireSameDevice(op, "b", b, dev);
  requireSameDevice(op, "out", out, dev);
  GLM_REQUIRE(a.rank() >= 2, op, "argument 'a': expected a tensor of rank >= 2, got shape " << shapeStr(a.shape));
  GLM_REQUIRE(b.rank() >= 2, op, "argument 'b': expected a tensor of rank >= 2, got shape " << shapeStr(b.shape));
  // Batch dims come from whichever operand has them; the other is a 2-D matrix shared by every item,
  // or carries the same batch dims.
  const bool batchedA = a.rank() > 2, batchedB = b.rank() > 2;
  if (batchedA && batchedB) {
    const bool same = b.rank() == a.rank() && std::equal(a.shape.begin(), a.shape.end() - 2, b.shape.begin());
    GLM_REQUIRE(same, op,
                "argument 'b': expected a 2-D matrix or the batch dims of 'a' " << shapeStr(a.shape) << ", got shape "
                                                                               << shapeStr(b.shape));
  }
  const int64_t M = transA ? a.dim(-1) : a.dim(-2);
  const int64_t K = transA ? a.dim(-2) : a.dim(-1);
  const int64_t Kb = transB ? b.dim(-1) : b.dim(-2);
  const int64_t N = transB ? b.dim(-2) : b.dim(-1);
  GLM_REQUIRE(K == Kb, op,
              "inner dimensions differ: 'a' " << shapeStr(a.shape) << (transA ? " (transposed)" : "") << " has K = " << K
                                              << ", 'b' " << shapeStr(b.shape) << (transB ? " (transposed)" : "")
                                              << " has K = " << Kb);
  const Shape& batchShape = batchedA ? a.shape : b.shape;
  Shape outShape(batchShape.begin(), batchShape.end() - 2);
  const int64_t batch = shapeNumel(outShape);
  outShape.push_back(M);
  outShape.push_back(N);
  requireShape(op, "out", out, outShape);
  requireNoOverlap(op, "out", out, "a", a);
  requireNoOverlap(op, "out", out, "b", b);
  if (bias) {
    requireSameDType(op, "bias", *bias, a, "a");
    requireSameDevice(op, "bias", *bias, dev);
    requireShape(op, "bias", *bias, {N});
    requireNoOverlap(op, "out", out, "bias", *bias);
  }
  if (preact) {
    requireSameDType(op, "preact", *preact, a, "a");
    requireSameDevice(op, "preact", *preact, dev);
    requireShape(op, "preact", *preact, outShape);
    requireNoOverlap(op, "preact", *preact, "out", out);
    requireNoOverlap(op, "preact", *preact, "a", a);
    requireNoOverlap(op, "preact", *preact, "b", b);
    if (bias) requireNoOverlap(op, "preact", *preact, "bias", *bias);
  }
  if (batch == 0 || M == 0 || N == 0) return;

  GemmParams p;
  p.batch = batch;
  p.M = M;
  p.N = N;
  p.K = K;
  p.transA = transA;
  p.transB = transB;
  p.strideA = batchedA ? M * K : 0;
  p.strideB = batchedB ? K * N : 0;
  p.strideC = M * N;
  p.alpha = alpha;
  p.beta = beta;
  p.epilogue = epilogue;
  if (batchedA && !batchedB && !transA && batch > 1) {
    // Every item multiplies the same b and a's rows are contiguous across items: one taller GEMM.
    p.M = batch * M;
    p.batch = 1;
    p.strideA = p.strideC = 0;
  }

  withFloatType(a.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(
        op, dev,
        [=] {
          cpu::matmul<T>(out.data<T>(), preact ? preact->data<T>() : nullptr, a.data<T>(), b.data<T>(),
                         bias ? bias->data<T>() : nullptr, p);
        },
        GLM_CUDA_WORK([=](void* s) {
          cuda::matmul<T>(out.data<T>(), preact ? preact->data<T>() : nullptr, a.data<T>(), b.data<T>(),
                          bias ? bias->data<T>() : nullptr, p, s);
        }),
        // ~30 GMAC/s on one AVX2 core, plus packing and the epilogue.
        streamNanos(p.batch * p.M * p.N * p.K, 1.0 / 30) + streamNanos(p.batch * (p.M * p.K + p.K * p.N + p.M * p.N)));
  });
}

}  // namespace glm
