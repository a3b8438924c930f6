// CUDA optimizer kernels; the contracts of native/cpu/optim.h.
// adamwStep is multi-tensor: the tensor list travels by value as a kernel parameter, up to
// kTensorsPerLaunch tensors per launch (a GPT-2 small step is 3 launches), each block updating one
// fixed-size chunk of one tensor. sumSquares is a deterministic two-stage reduction (reduce.cuh) and
// clipCoefficient a one-thread kernel, so clipping never waits on the host.
#include <cmath>

#include "../core/error.h"
#include "common.cuh"
#include "optim.h"
#include "reduce.cuh"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPerThread = 4;  // elements per thread: one float4 of param, m and v
constexpr int64_t kChunk = int64_t(kThreads) * kPerThread;
// 64 tensors keep the parameter block under the classic 4 KB kernel-parameter limit.
constexpr int kTensorsPerLaunch = 64;

struct AdamWBatch {
  float* param[kTensorsPerLaunch];
  const void* grad[kTensorsPerLaunch];
  float* m[kTensorsPerLaunch];
  float* v[kTensorsPerLaunch];
  int64_t n[kTensorsPerLaunch];
  float weightDecay[kTensorsPerLaunch];
  unsigned char gradBf16[kTensorsPerLaunch];
  unsigned char packed[kTensorsPerLaunch];  // every pointer aligned for 4-element accesses
  int firstBlock[kTensorsPerLaunch + 1];    // blocks [firstBlock[k], firstBlock[k+1]) update tensor k
  int count;
};

struct AdamWScalars {
  float lr, beta1, beta2, eps;
  float bias1, bias2;  // 1 - β^step
};

__device__ __forceinline__ void adamwElement(float& p, float& m, float& v, float g, float wd, const AdamWScalars& h) {
  m = h.beta1 * m + (1.0f - h.beta1) * g;
  v = h.beta2 * v + (1.0f - h.beta2) * g * g;
  const float mhat = m / h.bias1, vhat = v / h.bias2;
  p -= h.lr * (mhat / (sqrtf(vhat) + h.eps) + wd * p);
}

__device__ __forceinline__ float loadGrad(const void* g, bool bf16, int64_t i) {
  return bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(g)[i]) : static_cast<const float*>(g)[i];
}

// __grid_constant__: the batch is read in place from parameter space, even with a run-time index.
__global__ void __launch_bounds__(kThreads)
    adamwKernel(const __grid_constant__ AdamWBatch batch, AdamWScalars h, const float* gradScale) {
  // The tensor this block updates: the last k with firstBlock[k] <= blockIdx.x.
  int lo = 0, hi = batch.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) >> 1;
    if (batch.firstBlock[mid] <= int(blockIdx.x)) lo = mid;
    else hi = mid - 1;
  }
  const int k = lo;
  const int64_t n = batch.n[k];
  const int64_t start = int64_t(int(blockIdx.x) - batch.firstBlock[k]) * kChunk;
  float* param = batch.param[k];
  float* mom = batch.m[k];
  float* var = batch.v[k];
  const void* grad = batch.grad[k];
  const bool bf16 = batch.gradBf16[k];
  const float wd = batch.weightDecay[k];
  const float scale = gradScale ? gradScale[0] : 1.0f;
  const int64_t i0 = start + int64_t(threadIdx.x) * kPerThread;
  if (batch.packed[k] && i0 + kPerThread <= n) {
    Pack<float, 4> p = loadPack<4>(param + i0), m = loadPack<4>(mom + i0), v = loadPack<4>(var + i0);
    float g[4];
    if (bf16) {
      const Pack<__nv_bfloat16, 4> gb = loadPack<4>(static_cast<const __nv_bfloat16*>(grad) + i0);
#pragma unroll
      for (int j = 0; j < 4; j++) g[j] = __bfloat162float(gb.v[j]);
    } else {
      const Pack<float, 4> gf = loadPack<4>(static_cast<const float*>(grad) + i0);
#pragma unroll
      for (int j = 0; j < 4; j++) g[j] = gf.v[j];
    }
#pragma unroll
    for (int j = 0; j < 4; j++) adamwElement(p.v[j], m.v[j], v.v[j], g[j] * scale, wd, h);
    storePack<4>(param + i0, p);
    storePack<4>(mom + i0, m);
    storePack<4>(var + i0, v);
  } else {
    // Unaligned tensors and the ragged end: one element at a time, still coalesced across the warp.
    for (int j = 0; j < kPerThread; j++) {
      const int64_t i = start + int64_t(j) * kThreads + threadIdx.x;
      if (batch.packed[k] ? (i0 + j < n) : (i < n)) {
        const int64_t e = batch.packed[k] ? i0 + j : i;
        float p = param[e], m = mom[e], v = var[e];
        adamwElement(p, m, v, loadGrad(grad, bf16, e) * scale, wd, h);
        param[e] = p;
        mom[e] = m;
        var[e] = v;
      }
    }
  }
}

struct Square {
  __device__ float operator()(float x) const { return x * x; }
};

// sumSq[0] += total (accumulated in double)
struct AddToSum {
  float* sumSq;
  __device__ void operator()(double total) const { sumSq[0] = float(double(sumSq[0]) + total); }
};

__global__ void clipCoefficientKernel(float* norm, float* coef, const float* sumSq, float maxNorm) {
  const float n = float(sqrt(double(sumSq[0])));
  norm[0] = n;
  coef[0] = fminf(1.0f, maxNorm / (n + 1e-6f));
}

}  // namespace

void adamwStep(const AdamWTensor* tensors, int count, const AdamWParams& p, const float* gradScale, void* stream) {
  if (count <= 0) return;
  AdamWScalars h;
  h.lr = p.lr;
  h.beta1 = p.beta1;
  h.beta2 = p.beta2;
  h.eps = p.eps;
  h.bias1 = float(1.0 - std::pow(double(p.beta1), double(p.step)));
  h.bias2 = float(1.0 - std::pow(double(p.beta2), double(p.step)));
  cudaStream_t s = asStream(stream);
  for (int first = 0; first < count;) {
    AdamWBatch batch;
    int blocks = 0, k = 0;
    while (first + k < count && k < kTensorsPerLaunch) {
      const AdamWTensor& t = tensors[first + k];
      const int64_t tensorBlocks = (t.n + kChunk - 1) / kChunk;
      // gridDim.x and the block index stay within int.
      if (k > 0 && int64_t(blocks) + tensorBlocks > int64_t(INT32_MAX)) break;
      GLM_REQUIRE(tensorBlocks <= int64_t(INT32_MAX), "adamw", "a tensor of " << t.n << " elements is too large");
      GLM_REQUIRE(t.gradType == DType::F32 || t.gradType == DType::BF16, "adamw",
                  "gradients must be f32 or bf16, got " << dtypeName(t.gradType));
      batch.param[k] = t.param;
      batch.grad[k] = t.grad;
      batch.m[k] = t.m;
      batch.v[k] = t.v;
      batch.n[k] = t.n;
      batch.weightDecay[k] = t.weightDecay;
      batch.gradBf16[k] = t.gradType == DType::BF16;
      batch.packed[k] = alignedTo(t.param, 16) && alignedTo(t.m, 16) && alignedTo(t.v, 16) &&
                        alignedTo(t.grad, t.gradType == DType::BF16 ? 8 : 16);
      batch.firstBlock[k] = blocks;
      blocks += int(tensorBlocks);
      k++;
    }
    batch.firstBlock[k] = blocks;
    batch.count = k;
    if (blocks > 0) adamwKernel<<<unsigned(blocks), kThreads, 0, s>>>(batch, h, gradScale);
    first += k;
  }
}

template <typename T> void sumSquares(float* sumSq, const T* x, int64_t n, void* stream) {
  if (n <= 0) return;  // adds nothing
  sumVector(dev(x), n, Square{}, AddToSum{sumSq}, asStream(stream));
}

void clipCoefficient(float* norm, float* coef, const float* sumSq, float maxNorm, void* stream) {
  clipCoefficientKernel<<<1, 1, 0, asStream(stream)>>>(norm, coef, sumSq, maxNorm);
}

template void sumSquares<float>(float*, const float*, int64_t, void*);
template void sumSquares<bf16>(float*, const bf16*, int64_t, void*);

}  // namespace glm::cuda
