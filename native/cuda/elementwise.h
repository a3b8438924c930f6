// CUDA elementwise and reduction kernels: the same contracts as native/cpu/elementwise.h, plus the
// stream (a cudaStream_t passed as void* so this header needs no CUDA include).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cuda {

template <typename T> void add(T* out, const T* a, const T* b, float beta, int64_t n, int64_t n2, void* stream);
template <typename T> void mul(T* out, const T* a, const T* b, int64_t n, int64_t n2, void* stream);
template <typename T> void scale(T* out, const T* a, float s, int64_t n, void* stream);
template <typename T> void sumRows(T* out, const T* a, float alpha, float beta, int64_t n, int64_t n2, void* stream);
template <typename T> void sumAll(float* out, const T* a, float s, int64_t n, void* stream);
template <typename T> void broadcastScalar(T* out, const float* g, float s, int64_t n, void* stream);

}  // namespace glm::cuda
