// Fused softmax cross-entropy op: validates, then runs the CPU or CUDA kernel of cross_entropy.h.
#pragma once
#include <optional>

#include "../core/tensor.h"

namespace glm {

// logits (..., V) f32/bf16; targets i32 shaped as logits without the last dimension.
// loss, validCount: f32 one-element tensors; validCount is optional (the mean is divided by the
// count in the kernel either way). dlogits: null (loss only) or logits-shaped, of logits'
// dtype and device, either distinct from logits or logits itself (computed in place).
// Targets outside [0, V) other than ignoreIndex are a deferred error of the device's stream.
void softmaxCrossEntropyOp(const TensorRef& loss, const std::optional<TensorRef>& validCount, const std::optional<TensorRef>& dlogits,
                           const TensorRef& logits, const TensorRef& targets, int64_t ignoreIndex, bool meanReduction);

}  // namespace glm
