// CUDA data movement kernels: the same contracts as native/cpu/convert.h, plus the stream.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cuda {

void convert(void* out, DType outType, const void* inp, DType inType, int64_t n, void* stream);
void fill(void* out, DType t, double value, int64_t n, void* stream);

}  // namespace glm::cuda
