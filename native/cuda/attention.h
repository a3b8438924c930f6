// CUDA flash attention: the contract of native/cpu/attention.h, on a stream.
#pragma once
#include <cstdint>

#include "../cpu/attention.h"

namespace glm::cuda {

template <typename T>
void attentionForward(T* out, float* lse, const T* q, const T* k, const T* v, const int32_t* keyLengths,
                      const AttentionParams& p, void* stream);

template <typename T>
void attentionBackward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* out,
                       const float* lse, const int32_t* keyLengths, const AttentionParams& p, void* stream);

}  // namespace glm::cuda
