// Dispatch for the elementwise ops; see elementwise.h.
#include "elementwise.h"

#include "../cpu/elementwise.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/elementwise.h"
#endif

namespace glm {
namespace {

bool isSuffix(const Shape& small, const Shape& big) {
  if (small.size() > big.size()) return false;
  return std::equal(small.begin(), small.end(), big.end() - small.size());
}

// Checks a binary op's operands: same device and dtype, b's shape a suffix of a's, out shaped as a,
// and out either distinct from the inputs or exactly one of them.
void checkBinary(const char* op, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  requireDType(op, "a", a, {DType::F32, DType::BF16});
  requireSameDType(op, "b", b, a, "a");
  requireSameDType(op, "out", out, a, "a");
  requireSameDevice(op, "b", b, a.device());
  requireSameDevice(op, "out", out, a.device());
  GLM_REQUIRE(isSuffix(b.shape, a.shape) && (b.numel() > 0 || a.numel() == 0), op,
              "argument 'b': expected shape " << shapeStr(a.shape) << " or a suffix of it, got " << shapeStr(b.shape));
  requireShape(op, "out", out, a.shape);
  if (out.raw() != a.raw()) requireNoOverlap(op, "out", out, "a", a);
  if (out.raw() != b.raw() || out.numel() != b.numel()) requireNoOverlap(op, "out", out, "b", b);
}

}  // namespace

void addOp(const TensorRef& out, const TensorRef& a, const TensorRef& b, float beta) {
  const char* op = "add";
  checkBinary(op, out, a, b);
  const int64_t n = a.numel(), n2 = b.numel();
  withFloatType(a.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, a.device(), [=] { cpu::add<T>(out.data<T>(), a.data<T>(), b.data<T>(), beta, n, n2); },
             GLM_CUDA_WORK([=](void* s) { cuda::add<T>(out.data<T>(), a.data<T>(), b.data<T>(), beta, n, n2, s); }),
             streamNanos(n));
  });
}

void mulOp(const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const char* op = "mul";
  checkBinary(op, out, a, b);
  const int64_t n = a.numel(), n2 = b.numel();
  withFloatType(a.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, a.device(), [=] { cpu::mul<T>(out.data<T>(), a.data<T>(), b.data<T>(), n, n2); },
             GLM_CUDA_WORK([=](void* s) { cuda::mul<T>(out.data<T>(), a.data<T>(), b.data<T>(), n, n2, s); }),
             streamNanos(n));
  });
}

void scaleOp(const TensorRef& out, const TensorRef& a, float sc) {
  const char* op = "scale";
  requireDType(op, "a", a, {DType::F32, DType::BF16});
  requireSameDType(op, "out", out, a, "a");
  requireSameDevice(op, "out", out, a.device());
  requireShape(op, "out", out, a.shape);
  if (out.raw() != a.raw()) requireNoOverlap(op, "out", out, "a", a);
  const int64_t n = a.numel();
  withFloatType(a.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, a.device(), [=] { cpu::scale<T>(out.data<T>(), a.data<T>(), sc, n); },
             GLM_CUDA_WORK([=](void* s) { cuda::scale<T>(out.data<T>(), a.data<T>(), sc, n, s); }),
             streamNanos(n));
  });
}

void sumRowsOp(const TensorRef& out, const TensorRef& a, float alpha, float beta) {
  const char* op = "sumRows";
  requireDType(op, "a", a, {DType::F32, DType::BF16});
  requireSameDType(op, "out", out, a, "a");
  requireSameDevice(op, "out", out, a.device());
  GLM_REQUIRE(isSuffix(out.shape, a.shape), op,
              "argument 'out': expected a suffix of shape " << shapeStr(a.shape) << ", got " << shapeStr(out.shape));
  requireNoOverlap(op, "out", out, "a", a);
  const int64_t n = a.numel(), n2 = out.numel();
  if (n2 == 0) return;
  withFloatType(a.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, a.device(), [=] { cpu::sumRows<T>(out.data<T>(), a.data<T>(), alpha, beta, n, n2); },
             GLM_CUDA_WORK([=](void* s) { cuda::sumRows<T>(out.data<T>(), a.data<T>(), alpha, beta, n, n2, s); }),
             streamNanos(n));
  });
}

void sumAllOp(const TensorRef& out, const TensorRef& a, float sc) {
  const char* op = "sum";
  requireDType(op, "a", a, {DType::F32, DType::BF16});
  requireDType(op, "out", out, {DType::F32});
  requireSameDevice(op, "out", out, a.device());
  GLM_REQUIRE(out.numel() == 1, op, "argument 'out': expected a scalar, got shape " << shapeStr(out.shape));
  requireNoOverlap(op, "out", out, "a", a);
  const int64_t n = a.numel();
  withFloatType(a.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, a.device(), [=] { cpu::sumAll<T>(out.data<float>(), a.data<T>(), sc, n); },
             GLM_CUDA_WORK([=](void* s) { cuda::sumAll<T>(out.data<float>(), a.data<T>(), sc, n, s); }),
             streamNanos(n));
  });
}

void broadcastScalarOp(const TensorRef& out, const TensorRef& g, float sc) {
  const char* op = "broadcastScalar";
  requireDType(op, "out", out, {DType::F32, DType::BF16});
  requireDType(op, "g", g, {DType::F32});
  requireSameDevice(op, "g", g, out.device());
  GLM_REQUIRE(g.numel() == 1, op, "argument 'g': expected a scalar, got shape " << shapeStr(g.shape));
  requireNoOverlap(op, "out", out, "g", g);
  const int64_t n = out.numel();
  withFloatType(out.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, out.device(), [=] { cpu::broadcastScalar<T>(out.data<T>(), g.data<float>(), sc, n); },
             GLM_CUDA_WORK([=](void* s) { cuda::broadcastScalar<T>(out.data<T>(), g.data<float>(), sc, n, s); }),
             streamNanos(n));
  });
}

}  // namespace glm
