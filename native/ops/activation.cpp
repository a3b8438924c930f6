// Dispatch for the activation ops; see activation.h.
#include "activation.h"

#include "../cpu/activation.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/activation.h"
#endif

namespace glm {

void geluOp(const TensorRef& out, const TensorRef& inp) {
  const char* op = "gelu";
  requireDType(op, "x", inp, {DType::F32, DType::BF16});
  requireSameDType(op, "out", out, inp, "x");
  requireSameDevice(op, "out", out, inp.device());
  requireShape(op, "out", out, inp.shape);
  if (out.raw() != inp.raw()) requireNoOverlap(op, "out", out, "x", inp);
  const int64_t n = inp.numel();
  if (n == 0) return;
  withFloatType(inp.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, inp.device(), [=] { cpu::geluForward<T>(out.data<T>(), inp.data<T>(), n); },
             GLM_CUDA_WORK([=](void* s) { cuda::geluForward<T>(out.data<T>(), inp.data<T>(), n, s); }),
             streamNanos(n, 2.0));
  });
}

void geluBackwardOp(const TensorRef& dinp, const TensorRef& dout, const TensorRef& inp) {
  const char* op = "geluBackward";
  requireDType(op, "x", inp, {DType::F32, DType::BF16});
  requireSameDType(op, "dout", dout, inp, "x");
  requireSameDType(op, "dx", dinp, inp, "x");
  requireSameDevice(op, "dout", dout, inp.device());
  requireSameDevice(op, "dx", dinp, inp.device());
  requireShape(op, "dout", dout, inp.shape);
  requireShape(op, "dx", dinp, inp.shape);
  requireNoOverlap(op, "dx", dinp, "x", inp);
  if (dinp.raw() != dout.raw()) requireNoOverlap(op, "dx", dinp, "dout", dout);
  const int64_t n = inp.numel();
  if (n == 0) return;
  withFloatType(inp.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, inp.device(), [=] { cpu::geluBackward<T>(dinp.data<T>(), dout.data<T>(), inp.data<T>(), n); },
             GLM_CUDA_WORK([=](void* s) { cuda::geluBackward<T>(dinp.data<T>(), dout.data<T>(), inp.data<T>(), n, s); }),
             streamNanos(n, 3.0));
  });
}

}  // namespace glm
