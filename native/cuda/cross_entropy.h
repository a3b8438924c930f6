// CUDA fused softmax cross-entropy: the contract of native/cpu/cross_entropy.h, on a stream.
// An out-of-range target is reported as a deferred error of the stream (see runtime.cu). validCount
// may be null.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cuda {

template <typename T>
void softmaxCrossEntropy(float* loss, float* validCount, T* dlogits, const T* logits, const int32_t* targets, int64_t N,
                         int64_t V, int32_t ignoreIndex, bool meanReduction, void* stream);

}  // namespace glm::cuda
