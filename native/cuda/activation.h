// CUDA GELU: the contract of native/cpu/activation.h, on a stream.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cuda {

template <typename T> void geluForward(T* out, const T* inp, int64_t n, void* stream);
template <typename T> void geluBackward(T* dinp, const T* dout, const T* inp, int64_t n, void* stream);

}  // namespace glm::cuda
