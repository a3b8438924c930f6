// Dispatch for copy and fill; see tensor_ops.h.
#include "tensor_ops.h"

#include <cmath>

#include "../cpu/convert.h"
#include "checks.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/convert.h"
#endif

namespace glm {

void copyTensor(const TensorRef& dst, const TensorRef& src) {
  const char* op = "copy";
  requireShape(op, "dst", dst, src.shape);
  if (dst.device() != src.device()) {
    requireSameDType(op, "dst", dst, src, "src");
    cudaCopyTensor(dst, src);
    return;
  }
  if (overlaps(dst, src) && dst.raw() == src.raw() && dst.dtype == src.dtype) return;
  requireNoOverlap(op, "dst", dst, "src", src);
  const int64_t n = dst.numel();
  dispatch(op, dst.device(),
           [=] { cpu::convert(dst.raw(), dst.dtype, src.raw(), src.dtype, n); },
           GLM_CUDA_WORK([=](void* s) { cuda::convert(dst.raw(), dst.dtype, src.raw(), src.dtype, n, s); }),
           streamNanos(n));
}

void fillTensor(const TensorRef& dst, double value) {
  const char* op = "fill";
  GLM_REQUIRE(!std::isnan(value) || dst.dtype != DType::I32, op, "argument 'value': NaN cannot fill an i32 tensor");
  const int64_t n = dst.numel();
  dispatch(op, dst.device(), [=] { cpu::fill(dst.raw(), dst.dtype, value, n); },
           GLM_CUDA_WORK([=](void* s) { cuda::fill(dst.raw(), dst.dtype, value, n, s); }),
           streamNanos(n, 0.25));
}

}  // namespace glm
