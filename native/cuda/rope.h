// CUDA rotary position embedding: the contract of native/cpu/rope.h, on a stream.
#pragma once
#include <cstdint>

#include "../cpu/rope.h"

namespace glm::cuda {

template <typename T>
void ropeForward(T* out, const T* inp, int64_t BH, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                 int64_t positionOffset, bool inverse, void* stream);

}  // namespace glm::cuda
