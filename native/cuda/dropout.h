// CUDA dropout: the contract of native/cpu/dropout.h (the same Philox bits), on a stream.
#pragma once
#include <cstdint>

#include "../cpu/dropout.h"

namespace glm::cuda {

template <typename T>
void dropoutForward(T* out, const T* inp, int64_t n, uint64_t seed, uint64_t offset, DropoutParams params, void* stream);

}  // namespace glm::cuda
