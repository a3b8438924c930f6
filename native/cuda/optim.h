// CUDA optimizer kernels: the contract of native/cpu/optim.h, on a stream. adamwStep launches one
// multi-tensor kernel for the whole list.
#pragma once
#include <cstdint>

#include "../cpu/optim.h"

namespace glm::cuda {

void adamwStep(const AdamWTensor* tensors, int count, const AdamWParams& p, const float* gradScale, void* stream);
template <typename T> void sumSquares(float* sumSq, const T* x, int64_t n, void* stream);
void clipCoefficient(float* norm, float* coef, const float* sumSq, float maxNorm, void* stream);

}  // namespace glm::cuda
