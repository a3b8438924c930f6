// CUDA embedding; the contract of native/cpu/embedding.h. The forward gathers rows (one block per
// row, 16-byte accesses when aligned) and reports out-of-range ids as a deferred device error. The
// backward is deterministic without float atomics: a stable radix sort of (id, position) pairs groups
// each id's positions in increasing order, then one block per distinct id sums those rows of dout in
// that order and assigns the table row; rows of ids that never occur are zero.
#include <cub/device/device_radix_sort.cuh>

#include "../core/error.h"
#include "common.cuh"
#include "device_error.cuh"
#include "embedding.h"

namespace glm::cuda {
namespace {

// Threads per block for a row of `units` packs: a whole number of warps, at most 256.
int rowThreads(int64_t units) {
  int64_t t = (units + 31) / 32 * 32;
  return int(t < 32 ? 32 : t > 256 ? 256 : t);
}

template <typename T, int W>
__global__ void embeddingForwardKernel(T* out, const T* table, const int32_t* ids, int64_t N, int64_t V, int64_t C,
                                       ErrorSink sink) {
  const int64_t units = C / W;
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const int32_t id = ids[i];
    T* o = out + i * C;
    if (id < 0 || id >= V) {
      if (threadIdx.x == 0) reportDeviceError(sink, kErrIdOutOfRange, i, id, V);
      Pack<T, W> z;
#pragma unroll
      for (int k = 0; k < W; k++) z.v[k] = fromF<T>(0.0f);
      for (int64_t u = threadIdx.x; u < units; u += blockDim.x) storePack<W>(o + u * W, z);
      continue;
    }
    const T* row = table + int64_t(id) * C;
    for (int64_t u = threadIdx.x; u < units; u += blockDim.x) storePack<W>(o + u * W, loadPack<W>(row + u * W));
  }
}

__global__ void iotaKernel(int32_t* v, int64_t n) {
  GLM_GRID_STRIDE(i, n) { v[i] = int32_t(i); }
}

// keys: the ids sorted (stably); rows: their positions in dout. A block takes each position p that
// starts a run of equal keys and sums the run's rows of dout, in position order.
template <typename T, int W>
__global__ void embeddingBackwardKernel(T* dtable, const T* dout, const int32_t* keys, const int32_t* rows, int64_t N,
                                        int64_t V, int64_t C, ErrorSink sink) {
  const int64_t units = C / W;
  for (int64_t p = blockIdx.x; p < N; p += gridDim.x) {
    const int32_t id = keys[p];
    if (p > 0 && keys[p - 1] == id) continue;  // not the start of a run (the same for the whole block)
    if (id < 0 || id >= V) {
      // rows[p] is the first position holding this id: the sort is stable.
      if (threadIdx.x == 0) reportDeviceError(sink, kErrIdOutOfRange, rows[p], id, V);
      continue;
    }
    for (int64_t u = threadIdx.x; u < units; u += blockDim.x) {
      float acc[W];
#pragma unroll
      for (int k = 0; k < W; k++) acc[k] = 0.0f;
      for (int64_t q = p; q < N && keys[q] == id; q++) {
        const Pack<T, W> g = loadPack<W>(dout + int64_t(rows[q]) * C + u * W);
#pragma unroll
        for (int k = 0; k < W; k++) acc[k] += toF(g.v[k]);
      }
      Pack<T, W> o;
#pragma unroll
      for (int k = 0; k < W; k++) o.v[k] = fromF<T>(acc[k]);
      storePack<W>(dtable + int64_t(id) * C + u * W, o);
    }
  }
}

void checkCub(cudaError_t e, const char* what) {
  GLM_REQUIRE(e == cudaSuccess, "embedding", what << " failed: " << cudaGetErrorString(e));
}

}  // namespace

template <typename T>
void embeddingForward(T* out, const T* table, const int32_t* ids, int64_t N, int64_t V, int64_t C, void* stream) {
  if (N <= 0 || C <= 0) return;
  using D = DeviceType<T>;
  constexpr int W = kVec<T>;
  const ErrorSink sink = errorSinkFor(stream);
  const unsigned grid = gridFor(N, 1, 16);
  if (C % W == 0 && aligned16(out) && aligned16(table)) {
    embeddingForwardKernel<D, W><<<grid, rowThreads(C / W), 0, asStream(stream)>>>(dev(out), dev(table), ids, N, V,
                                                                                   C, sink);
  } else {
    embeddingForwardKernel<D, 1><<<grid, rowThreads(C), 0, asStream(stream)>>>(dev(out), dev(table), ids, N, V, C,
                                                                               sink);
  }
}

template <typename T>
void embeddingBackward(T* dtable, const T* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C, void* stream) {
  if (V <= 0 || C <= 0) return;
  cudaStream_t s = asStream(stream);
  using D = DeviceType<T>;
  constexpr int W = kVec<T>;
  checkCub(cudaMemsetAsync(dtable, 0, size_t(V) * size_t(C) * sizeof(T), s), "clearing dtable");
  if (N <= 0) return;
  GLM_REQUIRE(N <= int64_t(INT32_MAX), "embedding", "at most " << INT32_MAX << " ids per call on CUDA, got " << N);
  const int n = int(N);
  ScratchBuffer positions(sizeof(int32_t) * N), sortedIds(sizeof(int32_t) * N), sortedPositions(sizeof(int32_t) * N);
  size_t tempBytes = 0;
  checkCub(cub::DeviceRadixSort::SortPairs(nullptr, tempBytes, ids, sortedIds.as<int32_t>(),
                                           positions.as<int32_t>(), sortedPositions.as<int32_t>(), n, 0, 32, s),
           "sizing the id sort");
  ScratchBuffer temp(tempBytes > 0 ? tempBytes : 1);
  iotaKernel<<<gridFor(N, 256), 256, 0, s>>>(positions.as<int32_t>(), N);
  checkCub(cub::DeviceRadixSort::SortPairs(temp.data(), tempBytes, ids, sortedIds.as<int32_t>(),
                                           positions.as<int32_t>(), sortedPositions.as<int32_t>(), n, 0, 32, s),
           "sorting the ids");
  const ErrorSink sink = errorSinkFor(stream);
  const unsigned grid = gridFor(N, 1, 16);
  if (C % W == 0 && aligned16(dtable) && aligned16(dout)) {
    embeddingBackwardKernel<D, W><<<grid, rowThreads(C / W), 0, s>>>(
        dev(dtable), dev(dout), sortedIds.as<int32_t>(), sortedPositions.as<int32_t>(), N, V, C, sink);
  } else {
    embeddingBackwardKernel<D, 1><<<grid, rowThreads(C), 0, s>>>(
        dev(dtable), dev(dout), sortedIds.as<int32_t>(), sortedPositions.as<int32_t>(), N, V, C, sink);
  }
}

#define GLM_INSTANTIATE(T)                                                                                  \
  template void embeddingForward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t, void*); \
  template void embeddingBackward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t, void*);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cuda
