// Dispatch for the embedding lookup and its backward; see embedding.h.
#include "embedding.h"

#include "../cpu/embedding.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/embedding.h"
#endif

namespace glm {
namespace {

// (..., C): ids' shape followed by C.
Shape rowsShape(const TensorRef& ids, int64_t C) {
  Shape s = ids.shape;
  s.push_back(C);
  return s;
}

}  // namespace

void embeddingForwardOp(const TensorRef& out, const TensorRef& table, const TensorRef& ids) {
  const char* op = "embedding";
  requireDType(op, "table", table, {DType::F32, DType::BF16});
  requireRank(op, "table", table, 2);
  requireDType(op, "ids", ids, {DType::I32});
  requireSameDevice(op, "ids", ids, table.device());
  const int64_t V = table.dim(0), C = table.dim(1);
  requireSameDType(op, "out", out, table, "table");
  requireSameDevice(op, "out", out, table.device());
  requireShape(op, "out", out, rowsShape(ids, C));
  requireNoOverlap(op, "out", out, "table", table);
  requireNoOverlap(op, "out", out, "ids", ids);
  const int64_t N = ids.numel();
  withFloatType(table.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, table.device(), [=] { cpu::embeddingForward<T>(out.data<T>(), table.data<T>(), ids.data<int32_t>(), N, V, C); },
             GLM_CUDA_WORK([=](void* s) {
               cuda::embeddingForward<T>(out.data<T>(), table.data<T>(), ids.data<int32_t>(), N, V, C, s);
             }),
             streamNanos(N * C));
  });
}

void embeddingBackwardOp(const TensorRef& dtable, const TensorRef& dout, const TensorRef& ids) {
  const char* op = "embeddingBackward";
  requireDType(op, "dtable", dtable, {DType::F32, DType::BF16});
  requireRank(op, "dtable", dtable, 2);
  requireDType(op, "ids", ids, {DType::I32});
  requireSameDevice(op, "ids", ids, dtable.device());
  const int64_t V = dtable.dim(0), C = dtable.dim(1);
  requireSameDType(op, "dout", dout, dtable, "dtable");
  requireSameDevice(op, "dout", dout, dtable.device());
  requireShape(op, "dout", dout, rowsShape(ids, C));
  requireNoOverlap(op, "dtable", dtable, "dout", dout);
  requireNoOverlap(op, "dtable", dtable, "ids", ids);
  const int64_t N = ids.numel();
  withFloatType(dtable.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, dtable.device(),
             [=] { cpu::embeddingBackward<T>(dtable.data<T>(), dout.data<T>(), ids.data<int32_t>(), N, V, C); },
             GLM_CUDA_WORK([=](void* s) {
               cuda::embeddingBackward<T>(dtable.data<T>(), dout.data<T>(), ids.data<int32_t>(), N, V, C, s);
             }),
             streamNanos(N * C, 1.0));
  });
}

}  // namespace glm
