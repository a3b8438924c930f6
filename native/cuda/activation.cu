// CUDA GELU (tanh approximation); the contract of native/cpu/activation.h. Elementwise and
// memory-bound: 16-byte accesses when every pointer is aligned. In place is safe: each thread reads
// its elements before it writes them, and no other thread touches them.
#include "activation.h"
#include "common.cuh"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

__device__ __forceinline__ float gelu(float x) {
  const float u = kSqrt2OverPi * (x + kCubic * x * x * x);
  return 0.5f * x * (1.0f + tanhf(u));
}

// d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t²) √(2/π) (1 + 3·0.044715 x²), t = tanh(u).
__device__ __forceinline__ float geluGrad(float x) {
  const float x2 = x * x;
  const float t = tanhf(kSqrt2OverPi * (x + kCubic * x2 * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * x2);
}

template <typename T> __global__ void geluForwardKernel(T* out, const T* inp, int64_t n, bool packed) {
  constexpr int N = kVec<T>;
  if (packed) {
    const int64_t packs = n / N;
    GLM_GRID_STRIDE(i, packs) {
      Pack<T, N> p = loadPack<N>(inp + i * N);
#pragma unroll
      for (int k = 0; k < N; k++) p.v[k] = fromF<T>(gelu(toF(p.v[k])));
      storePack<N>(out + i * N, p);
    }
    const int64_t i = packs * N + int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = fromF<T>(gelu(toF(inp[i])));
  } else {
    GLM_GRID_STRIDE(i, n) { out[i] = fromF<T>(gelu(toF(inp[i]))); }
  }
}

template <typename T>
__global__ void geluBackwardKernel(T* dinp, const T* dout, const T* inp, int64_t n, bool packed) {
  constexpr int N = kVec<T>;
  if (packed) {
    const int64_t packs = n / N;
    GLM_GRID_STRIDE(i, packs) {
      Pack<T, N> g = loadPack<N>(dout + i * N);
      const Pack<T, N> x = loadPack<N>(inp + i * N);
#pragma unroll
      for (int k = 0; k < N; k++) g.v[k] = fromF<T>(toF(g.v[k]) * geluGrad(toF(x.v[k])));
      storePack<N>(dinp + i * N, g);
    }
    const int64_t i = packs * N + int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) dinp[i] = fromF<T>(toF(dout[i]) * geluGrad(toF(inp[i])));
  } else {
    GLM_GRID_STRIDE(i, n) { dinp[i] = fromF<T>(toF(dout[i]) * geluGrad(toF(inp[i]))); }
  }
}

}  // namespace

template <typename T> void geluForward(T* out, const T* inp, int64_t n, void* stream) {
  if (n <= 0) return;
  const bool packed = aligned16(out) && aligned16(inp);
  geluForwardKernel<<<gridFor(packed ? n / kVec<T> + 1 : n, kThreads), kThreads, 0, asStream(stream)>>>(
      dev(out), dev(inp), n, packed);
}

template <typename T> void geluBackward(T* dinp, const T* dout, const T* inp, int64_t n, void* stream) {
  if (n <= 0) return;
  const bool packed = aligned16(dinp) && aligned16(dout) && aligned16(inp);
  geluBackwardKernel<<<gridFor(packed ? n / kVec<T> + 1 : n, kThreads), kThreads, 0, asStream(stream)>>>(
      dev(dinp), dev(dout), dev(inp), n, packed);
}

template void geluForward<float>(float*, const float*, int64_t, void*);
template void geluForward<bf16>(bf16*, const bf16*, int64_t, void*);
template void geluBackward<float>(float*, const float*, const float*, int64_t, void*);
template void geluBackward<bf16>(bf16*, const bf16*, const bf16*, int64_t, void*);

}  // namespace glm::cuda
