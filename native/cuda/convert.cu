// CUDA data movement kernels: dtype conversion, fills, and the byte-pattern fill the runtime uses.
// Same results as native/cpu/convert.cpp: f32 -> bf16 rounds to nearest even, -> i32 truncates.
#include <cuda_runtime.h>

#include "../core/error.h"
#include "common.cuh"
#include "convert.h"
#include "pattern.h"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float loadAsF32(float x) { return x; }
__device__ __forceinline__ float loadAsF32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float loadAsF32(int32_t x) { return __int2float_rn(x); }

template <typename Out> struct StoreFrom;
template <> struct StoreFrom<float> {
  __device__ static float from(float x) { return x; }
};
template <> struct StoreFrom<__nv_bfloat16> {
  __device__ static __nv_bfloat16 from(float x) { return __float2bfloat16_rn(x); }
};
template <> struct StoreFrom<int32_t> {
  // Truncation toward zero (cvt.rzi saturates out-of-range values and maps NaN to 0).
  __device__ static int32_t from(float x) { return int32_t(x); }
};

// Four elements per thread when both sides are aligned to four elements, one otherwise.
template <typename Out, typename In>
__global__ void convertKernel(Out* out, const In* inp, int64_t n, bool packed) {
  if (packed) {
    const int64_t groups = n / 4;
    GLM_GRID_STRIDE(g, groups) {
      Pack<In, 4> a = loadPack<4>(inp + g * 4);
      Pack<Out, 4> b;
#pragma unroll
      for (int k = 0; k < 4; k++) b.v[k] = StoreFrom<Out>::from(loadAsF32(a.v[k]));
      storePack<4>(out + g * 4, b);
    }
    for (int64_t i = groups * 4 + int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
      out[i] = StoreFrom<Out>::from(loadAsF32(inp[i]));
  } else {
    GLM_GRID_STRIDE(i, n) { out[i] = StoreFrom<Out>::from(loadAsF32(inp[i])); }
  }
}

template <typename Out, typename In> void launchConvert(void* out, const void* inp, int64_t n, cudaStream_t s) {
  auto* o = static_cast<Out*>(out);
  auto* i = static_cast<const In*>(inp);
  const bool packed = alignedTo(o, sizeof(Out) * 4) && alignedTo(i, sizeof(In) * 4);
  convertKernel<Out, In><<<gridFor(packed ? n / 4 + 1 : n, kThreads), kThreads, 0, s>>>(o, i, n, packed);
}

template <typename Out> void convertTo(void* out, const void* inp, DType inType, int64_t n, cudaStream_t s) {
  switch (inType) {
    case DType::F32: launchConvert<Out, float>(out, inp, n, s); break;
    case DType::BF16: launchConvert<Out, __nv_bfloat16>(out, inp, n, s); break;
    case DType::I32: launchConvert<Out, int32_t>(out, inp, n, s); break;
  }
}

// 16-byte stores over the aligned middle, single elements at both ends.
template <typename T> __global__ void patternKernel(T* out, T value, int64_t n) {
  const int64_t head = headToAligned16(out) < n ? headToAligned16(out) : n;
  constexpr int N = kVec<T>;
  const int64_t vecs = (n - head) / N;
  Pack<T, N> v;
#pragma unroll
  for (int k = 0; k < N; k++) v.v[k] = value;
  T* body = out + head;
  GLM_GRID_STRIDE(i, vecs) { storePack<N>(body + i * N, v); }
  const int64_t tailStart = head + vecs * N;
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < head) out[t] = value;
  if (t < n - tailStart) out[tailStart + t] = value;
}

template <typename T> void launchPattern(void* out, T value, int64_t n, cudaStream_t s) {
  // The head and the tail have fewer than 16 elements: the first block covers them.
  patternKernel<T><<<gridFor(n / kVec<T> + 1, kThreads), kThreads, 0, s>>>(static_cast<T*>(out), value, n);
}

}  // namespace

void fillPattern(void* out, uint32_t pattern, int patternBytes, int64_t count, void* stream) {
  if (count <= 0) return;
  cudaStream_t s = asStream(stream);
  switch (patternBytes) {
    case 1: launchPattern<uint8_t>(out, uint8_t(pattern), count, s); break;
    case 2: launchPattern<uint16_t>(out, uint16_t(pattern), count, s); break;
    case 4: launchPattern<uint32_t>(out, pattern, count, s); break;
    default: GLM_FAIL("fill", "expected a pattern of 1, 2 or 4 bytes, got " << patternBytes);
  }
}

void convert(void* out, DType outType, const void* inp, DType inType, int64_t n, void* stream) {
  if (n <= 0) return;
  cudaStream_t s = asStream(stream);
  if (outType == inType) {
    cudaMemcpyAsync(out, inp, size_t(n) * dtypeSize(outType), cudaMemcpyDeviceToDevice, s);
    return;
  }
  switch (outType) {
    case DType::F32: convertTo<float>(out, inp, inType, n, s); break;
    case DType::BF16: convertTo<__nv_bfloat16>(out, inp, inType, n, s); break;
    case DType::I32: convertTo<int32_t>(out, inp, inType, n, s); break;
  }
}

void fill(void* out, DType t, double value, int64_t n, void* stream) {
  // The bits are computed on the host exactly as the CPU fill computes them.
  switch (t) {
    case DType::F32: {
      const float v = float(value);
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      fillPattern(out, bits, 4, n, stream);
      break;
    }
    case DType::BF16: fillPattern(out, f32ToBf16(float(value)), 2, n, stream); break;
    case DType::I32: fillPattern(out, uint32_t(int32_t(value)), 4, n, stream); break;
  }
}

}  // namespace glm::cuda
