// CUDA token sampling: the contract and rules of native/cpu/sample.h, on a stream. An id outside
// [-1, V) in history is a deferred device error ("id ... at index ... is out of range").
#pragma once
#include <cstdint>

#include "../cpu/sample.h"

namespace glm::cuda {

template <typename T>
void sampleTokens(int32_t* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params, void* stream);

template <typename T>
void sampleLogits(float* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params, void* stream);

}  // namespace glm::cuda
