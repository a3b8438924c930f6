// Dispatch for dropout; see dropout.h.
#include "dropout.h"

#include <cmath>

#include "../cpu/dropout.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/dropout.h"
#endif

namespace glm {

void dropoutOp(const char* op, const TensorRef& out, const TensorRef& inp, double p, uint64_t seed, uint64_t offset) {
  requireDType(op, "x", inp, {DType::F32, DType::BF16});
  requireSameDType(op, "out", out, inp, "x");
  requireSameDevice(op, "out", out, inp.device());
  requireShape(op, "out", out, inp.shape);
  if (out.raw() != inp.raw()) requireNoOverlap(op, "out", out, "x", inp);
  GLM_REQUIRE(std::isfinite(p) && p >= 0.0 && p < 1.0, op, "argument 'p': expected a number in [0, 1), got " << p);
  GLM_REQUIRE(seed <= kDropoutMaxCounter, op, "argument 'seed': expected an integer in [0, 2^53), got " << seed);
  const int64_t n = inp.numel();
  GLM_REQUIRE(offset <= kDropoutMaxCounter && uint64_t(n) <= kDropoutMaxCounter - offset + 1, op,
              "argument 'offset': expected an integer >= 0 with offset + numel <= 2^53, got " << offset
                                                                                              << " (numel " << n << ")");
  if (n == 0) return;
  const DropoutParams prm = dropoutParams(p);
  withFloatType(inp.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, inp.device(), [=] { cpu::dropoutForward<T>(out.data<T>(), inp.data<T>(), n, seed, offset, prm); },
             GLM_CUDA_WORK([=](void* s) { cuda::dropoutForward<T>(out.data<T>(), inp.data<T>(), n, seed, offset, prm, s); }));
  });
}

}  // namespace glm
