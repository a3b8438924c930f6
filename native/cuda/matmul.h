// CUDA GEMM: the contract of native/cpu/matmul.h, on a stream. bf16 runs on tensor cores (mma.sync,
// f32 accumulation); f32 uses TF32 tensor cores unless strict f32 is asked for.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../cpu/matmul.h"

namespace glm::cuda {

template <typename T>
void matmul(T* C, T* preact, const T* A, const T* B, const T* bias, const GemmParams& p, void* stream);

}  // namespace glm::cuda
