// CUDA permute: the contract of native/cpu/layout.h, on a stream.
#pragma once
#include <cstdint>

namespace glm::cuda {

void permute(void* out, const void* inp, int64_t elemSize, const int64_t* inShape, const int* perm, int rank,
             void* stream);

}  // namespace glm::cuda
