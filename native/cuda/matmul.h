// CUDA GEMM: the contract of native/cpu/matmul.h, on a stream. bf16 runs on tensor cores (mma.sync,
// f32 accumulation); f32 runs on TF32 tensor cores with 3xTF32 error compensation (about f32
// accuracy, so the f32 tolerance of the CPU path holds), or single-pass TF32 when GLM_CUDA_TF32=1.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../cpu/matmul.h"

namespace glm::cuda {

template <typename T>
void matmul(T* C, T* preact, const T* A, const T* B, const T* bias, const GemmParams& p, void* stream);

}  // namespace glm::cuda
