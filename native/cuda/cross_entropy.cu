// CUDA fused softmax cross-entropy; the contract of native/cpu/cross_entropy.h.
//   1. one block counts the counted rows (target != ignoreIndex) and reports out-of-range targets as
//      a deferred device error;
//   2. one block per row: an online max / sum-of-exponentials over the row (one read), then the loss
//      term and, in a second read, dlogits = (softmax - onehot) / denominator, written in place when
//      dlogits == logits;
//   3. one block adds the row losses in a fixed order (double) into loss and validCount.
// Nothing depends on timing or atomics' order, so the loss repeats bit for bit.
#include <cmath>

#include "common.cuh"
#include "cross_entropy.h"
#include "device_error.cuh"

namespace glm::cuda {
namespace {

__global__ void countTargetsKernel(long long* count, const int32_t* targets, int64_t N, int64_t V, int32_t ignoreIndex,
                                   ErrorSink sink) {
  long long c = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
    const int32_t t = targets[i];
    if (t == ignoreIndex) continue;
    if (t < 0 || t >= V) reportDeviceError(sink, kErrTargetOutOfRange, i, t, V);
    else c++;
  }
  const long long total = blockSum(c);
  if (threadIdx.x == 0) count[0] = total;
}

// (m, s) stands for s · e^m. Combining is commutative to the bit, so every lane of a butterfly ends
// with the same pair.
__device__ __forceinline__ void combine(float& m, float& s, float m2, float s2) {
  const float mm = fmaxf(m, m2);
  if (mm == -INFINITY) {  // both empty (or all -inf): nothing to add
    m = mm;
    return;
  }
  s = s * expf(m - mm) + s2 * expf(m2 - mm);
  m = mm;
}

// Block-wide combine; every thread gets the result. Contains __syncthreads.
__device__ void blockCombine(float& m, float& s) {
  __shared__ float sm[32], ss[32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) combine(m, s, __shfl_xor_sync(0xffffffffu, m, o), __shfl_xor_sync(0xffffffffu, s, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();  // the previous row's readers are done with sm/ss
  if (lane == 0) {
    sm[warp] = m;
    ss[warp] = s;
  }
  __syncthreads();
  m = lane < warps ? sm[lane] : -INFINITY;
  s = lane < warps ? ss[lane] : 0.0f;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) combine(m, s, __shfl_xor_sync(0xffffffffu, m, o), __shfl_xor_sync(0xffffffffu, s, o));
}

// f(j, x) for every element of row (n elements), split over the block; 16-byte loads in the aligned middle.
template <typename T, typename F> __device__ __forceinline__ void blockRowRead(const T* row, int64_t n, F&& f) {
  constexpr int N = kVec<T>;
  const int64_t head = headToAligned16(row) < n ? headToAligned16(row) : n;
  for (int64_t j = threadIdx.x; j < head; j += blockDim.x) f(j, toF(row[j]));
  const int64_t packs = (n - head) / N;
  for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
    const Pack<T, N> v = loadPack<N>(row + head + p * N);
#pragma unroll
    for (int k = 0; k < N; k++) f(head + p * N + k, toF(v.v[k]));
  }
  for (int64_t j = head + packs * N + threadIdx.x; j < n; j += blockDim.x) f(j, toF(row[j]));
}

// out[j] = f(j, row[j]); out may be row itself. Packed only when both share their alignment.
template <typename T, typename F> __device__ __forceinline__ void blockRowMap(T* out, const T* row, int64_t n, F&& f) {
  constexpr int N = kVec<T>;
  if (headToAligned16(out) != headToAligned16(row)) {
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) out[j] = fromF<T>(f(j, toF(row[j])));
    return;
  }
  const int64_t head = headToAligned16(row) < n ? headToAligned16(row) : n;
  for (int64_t j = threadIdx.x; j < head; j += blockDim.x) out[j] = fromF<T>(f(j, toF(row[j])));
  const int64_t packs = (n - head) / N;
  for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
    const Pack<T, N> v = loadPack<N>(row + head + p * N);
    Pack<T, N> o;
#pragma unroll
    for (int k = 0; k < N; k++) o.v[k] = fromF<T>(f(head + p * N + k, toF(v.v[k])));
    storePack<N>(out + head + p * N, o);
  }
  for (int64_t j = head + packs * N + threadIdx.x; j < n; j += blockDim.x) out[j] = fromF<T>(f(j, toF(row[j])));
}

template <typename T>
__global__ void crossEntropyRowsKernel(float* rowLoss, T* dlogits, const T* logits, const int32_t* targets,
                                       const long long* count, int64_t N, int64_t V, int32_t ignoreIndex,
                                       bool meanReduction) {
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    const int32_t t = targets[r];
    const T* x = logits + r * V;
    T* d = dlogits ? dlogits + r * V : nullptr;
    if (t == ignoreIndex || t < 0 || t >= V) {  // ignored (out-of-range targets were reported)
      if (threadIdx.x == 0) rowLoss[r] = 0.0f;
      if (d)
        for (int64_t j = threadIdx.x; j < V; j += blockDim.x) d[j] = fromF<T>(0.0f);
      continue;
    }
    // Read before the barrier in blockCombine: after it the row may be overwritten by dlogits.
    const float xt = threadIdx.x == 0 ? toF(x[t]) : 0.0f;
    float m = -INFINITY, s = 0.0f;
    blockRowRead(x, V, [&](int64_t, float v) {
      if (v > m) {
        s = s * expf(m - v) + 1.0f;
        m = v;
      } else if (v != -INFINITY) {
        s += expf(v - m);
      }
    });
    blockCombine(m, s);
    const float lse = m + logf(s);
    if (threadIdx.x == 0) rowLoss[r] = lse - xt;
    if (d) {
      const long long c = count[0];
      const float inv = meanReduction ? (c > 0 ? 1.0f / float(c) : 0.0f) : 1.0f;
      blockRowMap(d, x, V, [&](int64_t j, float v) { return (expf(v - lse) - (j == t ? 1.0f : 0.0f)) * inv; });
    }
  }
}

// loss = Σ rowLoss (/ count when meanReduction; 0 when no row counts), validCount (when not null) = count.
__global__ void finishLossKernel(float* loss, float* validCount, const float* rowLoss, const long long* count,
                                 int64_t N, bool meanReduction) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) acc += double(rowLoss[i]);
  const double total = blockSum(acc);
  if (threadIdx.x == 0) {
    const long long c = count[0];
    loss[0] = float(meanReduction ? (c > 0 ? total / double(c) : 0.0) : total);
    if (validCount) validCount[0] = float(c);
  }
}

}  // namespace

template <typename T>
void softmaxCrossEntropy(float* loss, float* validCount, T* dlogits, const T* logits, const int32_t* targets, int64_t N,
                         int64_t V, int32_t ignoreIndex, bool meanReduction, void* stream) {
  cudaStream_t s = asStream(stream);
  ScratchBuffer count(sizeof(long long)), rowLoss(sizeof(float) * (N > 0 ? N : 1));
  const ErrorSink sink = errorSinkFor(stream);
  countTargetsKernel<<<1, 1024, 0, s>>>(count.as<long long>(), targets, N, V, ignoreIndex, sink);
  if (N > 0 && V > 0) {
    int64_t threads = (V / kVec<T> + 31) / 32 * 32;
    threads = threads < 32 ? 32 : threads > 512 ? 512 : threads;
    crossEntropyRowsKernel<<<gridFor(N, 1, 8), unsigned(threads), 0, s>>>(
        rowLoss.as<float>(), dev(dlogits), dev(logits), targets, count.as<long long>(), N, V, ignoreIndex,
        meanReduction);
  } else if (N > 0) {
    cudaMemsetAsync(rowLoss.data(), 0, sizeof(float) * N, s);  // V == 0: every target is out of range
  }
  finishLossKernel<<<1, 1024, 0, s>>>(loss, validCount, rowLoss.as<float>(), count.as<long long>(), N, meanReduction);
}

template void softmaxCrossEntropy<float>(float*, float*, float*, const float*, const int32_t*, int64_t, int64_t,
                                         int32_t, bool, void*);
template void softmaxCrossEntropy<bf16>(float*, float*, bf16*, const bf16*, const int32_t*, int64_t, int64_t, int32_t,
                                        bool, void*);

}  // namespace glm::cuda
