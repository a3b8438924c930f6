// Device-side helpers shared by the CUDA kernels (CUDA-only header): the device type behind each
// element type, f32 loads and stores, packed 16-byte accesses, warp and block reductions, and launch
// sizing. Kernels compute in f32 whatever the storage type; reductions accumulate in double.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

#include "../core/dtype.h"
#include "runtime_internal.h"

namespace glm::cuda {

// glm::bf16 (a storage-only struct on the host) is __nv_bfloat16 on the device: same size, same bits.
template <typename T> struct DeviceTypeOf { using type = T; };
template <> struct DeviceTypeOf<glm::bf16> { using type = __nv_bfloat16; };
template <typename T> using DeviceType = typename DeviceTypeOf<T>::type;

template <typename T> inline DeviceType<T>* dev(T* p) { return reinterpret_cast<DeviceType<T>*>(p); }
template <typename T> inline const DeviceType<T>* dev(const T* p) { return reinterpret_cast<const DeviceType<T>*>(p); }

inline cudaStream_t asStream(void* s) { return static_cast<cudaStream_t>(s); }

__device__ __forceinline__ float toF(float x) { return x; }
__device__ __forceinline__ float toF(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ __forceinline__ T fromF(float x);
template <> __device__ __forceinline__ float fromF<float>(float x) { return x; }
// Round to nearest even, as the CPU's f32ToBf16.
template <> __device__ __forceinline__ __nv_bfloat16 fromF<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// ---- packed accesses: N elements of T loaded or stored as one 4/8/16-byte memory operation ----

template <int Bytes> struct RawOf;
template <> struct RawOf<16> { using type = int4; };
template <> struct RawOf<8> { using type = int2; };
template <> struct RawOf<4> { using type = int; };
template <> struct RawOf<2> { using type = short; };

template <typename T, int N> struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Elements of T in one 16-byte access.
template <typename T> constexpr int kVec = 16 / int(sizeof(T));

// p must be aligned to sizeof(T) * N bytes.
template <int N, typename T> __device__ __forceinline__ Pack<T, N> loadPack(const T* p) {
  using R = typename RawOf<sizeof(T) * N>::type;
  R raw = *reinterpret_cast<const R*>(p);
  Pack<T, N> out;
  memcpy(&out, &raw, sizeof(R));
  return out;
}

template <int N, typename T> __device__ __forceinline__ void storePack(T* p, const Pack<T, N>& v) {
  using R = typename RawOf<sizeof(T) * N>::type;
  R raw;
  memcpy(&raw, &v, sizeof(R));
  *reinterpret_cast<R*>(p) = raw;
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }
inline bool alignedTo(const void* p, size_t bytes) { return (reinterpret_cast<uintptr_t>(p) & (bytes - 1)) == 0; }

// Elements of T before `p` reaches a 16-byte boundary (p itself is aligned to sizeof(T)).
template <typename T> __host__ __device__ __forceinline__ int64_t headToAligned16(const T* p) {
  return int64_t(((16 - (reinterpret_cast<uintptr_t>(p) & 15)) & 15) / sizeof(T));
}

// ---- reductions ----
// The xor butterfly leaves the same value in every lane (a + b == b + a exactly), and the order of
// additions is fixed, so sums are reproducible run to run.

template <typename A> __device__ __forceinline__ A warpSum(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// Contains __syncthreads: call it from all threads of the block.
template <typename A> __device__ A blockSum(A v) {
  __shared__ A shared[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warpSum(v);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  A r = lane < warps ? shared[lane] : A(0);
  return warpSum(r);
}

// ---- launch sizing ----

// Blocks for `work` items at `perBlock` items per block, capped at `wavesPerSM` blocks per
// multiprocessor of the current device (grid-stride loops cover the rest).
inline unsigned gridFor(int64_t work, int64_t perBlock, int wavesPerSM = 8) {
  int64_t blocks = (work + perBlock - 1) / perBlock;
  const int64_t cap = int64_t(currentDeviceSMs()) * wavesPerSM;
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return unsigned(blocks);
}

#define GLM_GRID_STRIDE(i, n)                                                              \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, glm_stride_ = int64_t(gridDim.x) * blockDim.x; \
       i < (n); i += glm_stride_)

}  // namespace glm::cuda
