// CUDA LayerNorm: the contract of native/cpu/layernorm.h, on a stream.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cuda {

template <typename T>
void layernormForward(T* out, float* mean, float* rstd, const T* inp, const T* weight, const T* bias, int64_t N,
                      int64_t C, float eps, void* stream);

template <typename T>
void layernormBackward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const float* mean,
                       const float* rstd, int64_t N, int64_t C, void* stream);

}  // namespace glm::cuda
