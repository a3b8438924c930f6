// CUDA rotary position embedding: the contract of native/cpu/rope.h, on a stream.
#pragma once
#include <cstdint>

#include "../cpu/rope.h"

namespace glm::cuda {

template <typename T>
void ropeForward(T* out, const T* inp, int64_t BH, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                 int64_t positionOffset, bool inverse, void* stream);
// The contract of cpu::ropeForwardAt; positions is an i32 device array of B values. A row of a batch
// item whose position is out of range is not written and is reported as a deferred device error.
template <typename T>
void ropeForwardAt(T* out, const T* inp, int64_t B, int64_t H, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                   const int32_t* positions, void* stream);

}  // namespace glm::cuda
