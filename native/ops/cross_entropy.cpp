// Dispatch for the fused softmax cross-entropy; see cross_entropy.h.
#include "cross_entropy.h"

#include <cstdint>
#include <limits>

#include "../cpu/cross_entropy.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/cross_entropy.h"
#endif

namespace glm {

void softmaxCrossEntropyOp(const TensorRef& loss, const std::optional<TensorRef>& validCount,
                           const std::optional<TensorRef>& dlogits,
                           const TensorRef& logits, const TensorRef& targets, int64_t ignoreIndex, bool meanReduction) {
  const char* op = "softmaxCrossEntropy";
  requireDType(op, "logits", logits, {DType::F32, DType::BF16});
  GLM_REQUIRE(logits.rank() >= 1 && logits.dim(-1) >= 1, op,
              "argument 'logits': expected a tensor of shape [..., V] with V >= 1, got shape " << shapeStr(logits.shape));
  const Device dev = logits.device();
  requireDType(op, "targets", targets, {DType::I32});
  requireSameDevice(op, "targets", targets, dev);
  requireShape(op, "targets", targets, Shape(logits.shape.begin(), logits.shape.end() - 1));
  auto requireScalarOut = [&](const char* name, const TensorRef& t) {
    requireDType(op, name, t, {DType::F32});
    requireSameDevice(op, name, t, dev);
    GLM_REQUIRE(t.numel() == 1, op, "argument '" << name << "': expected a one-element tensor, got shape " << shapeStr(t.shape));
    requireNoOverlap(op, name, t, "logits", logits);
    requireNoOverlap(op, name, t, "targets", targets);
  };
  requireScalarOut("loss", loss);
  if (validCount) {
    requireScalarOut("validCount", *validCount);
    requireNoOverlap(op, "loss", loss, "validCount", *validCount);
  }
  GLM_REQUIRE(ignoreIndex >= std::numeric_limits<int32_t>::min() && ignoreIndex <= std::numeric_limits<int32_t>::max(), op,
              "argument 'ignoreIndex': expected an integer in the int32 range, got " << ignoreIndex);
  if (dlogits) {
    const TensorRef& dl = *dlogits;
    requireSameDType(op, "dlogits", dl, logits, "logits");
    requireSameDevice(op, "dlogits", dl, dev);
    requireShape(op, "dlogits", dl, logits.shape);
    if (dl.raw() != logits.raw()) requireNoOverlap(op, "dlogits", dl, "logits", logits);
    requireNoOverlap(op, "dlogits", dl, "targets", targets);
    requireNoOverlap(op, "dlogits", dl, "loss", loss);
    if (validCount) requireNoOverlap(op, "dlogits", dl, "validCount", *validCount);
  }
  const int64_t V = logits.dim(-1);
  const int64_t N = V > 0 ? logits.numel() / V : 0;
  const int32_t ignore = int32_t(ignoreIndex);
  withFloatType(logits.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const std::optional<TensorRef> dl = dlogits, vc = validCount;
    dispatch(
        op, dev,
        [=] {
          cpu::softmaxCrossEntropy<T>(loss.data<float>(), vc ? vc->data<float>() : nullptr, dl ? dl->data<T>() : nullptr,
                                      logits.data<T>(), targets.data<int32_t>(), N, V, ignore, meanReduction);
        },
        GLM_CUDA_WORK([=](void* s) {
          cuda::softmaxCrossEntropy<T>(loss.data<float>(), vc ? vc->data<float>() : nullptr, dl ? dl->data<T>() : nullptr,
                                       logits.data<T>(), targets.data<int32_t>(), N, V, ignore, meanReduction, s);
        }),
        streamNanos(N * V, 1.3));
  });
}

}  // namespace glm
