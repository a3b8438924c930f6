// CUDA elementwise and reduction kernels; the contracts of native/cpu/elementwise.h. Memory-bound:
// 16-byte accesses whenever every pointer is aligned, grid-stride loops, f32 arithmetic; sums are
// deterministic (reduce.cuh).
#include "common.cuh"
#include "elementwise.h"
#include "reduce.cuh"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256;

struct AddFn {
  float beta;
  __device__ float operator()(float x, float y) const { return x + beta * y; }
};
struct MulFn {
  __device__ float operator()(float x, float y) const { return x * y; }
};

// out = op(a, b) with b (n2) repeated over the rows of a (n). Packed: every index counts N-element
// packs (n and n2 are multiples of N then, except n when n2 == n, whose tail `rest` is done singly).
template <typename T, bool kBroadcast, typename Op>
__global__ void binaryKernel(T* out, const T* a, const T* b, int64_t n, int64_t n2, bool packed, Op op) {
  constexpr int N = kVec<T>;
  if (packed) {
    const int64_t packs = n / N, packs2 = n2 / N;
    GLM_GRID_STRIDE(i, packs) {
      const int64_t j = kBroadcast ? i % packs2 : i;
      Pack<T, N> pa = loadPack<N>(a + i * N), pb = loadPack<N>(b + j * N), po;
#pragma unroll
      for (int k = 0; k < N; k++) po.v[k] = fromF<T>(op(toF(pa.v[k]), toF(pb.v[k])));
      storePack<N>(out + i * N, po);
    }
    const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, i = packs * N + t;
    if (!kBroadcast && i < n) out[i] = fromF<T>(op(toF(a[i]), toF(b[i])));
  } else {
    GLM_GRID_STRIDE(i, n) {
      const int64_t j = kBroadcast ? i % n2 : i;
      out[i] = fromF<T>(op(toF(a[i]), toF(b[j])));
    }
  }
}

template <typename T, typename Op>
void binary(T* out, const T* a, const T* b, int64_t n, int64_t n2, Op op, cudaStream_t s) {
  if (n <= 0 || n2 <= 0) return;
  constexpr int N = kVec<T>;
  const bool broadcast = n2 != n;
  const bool packed = aligned16(out) && aligned16(a) && aligned16(b) && (!broadcast || n2 % N == 0);
  const unsigned grid = gridFor(packed ? n / N + 1 : n, kThreads);
  if (broadcast) binaryKernel<T, true><<<grid, kThreads, 0, s>>>(out, a, b, n, n2, packed, op);
  else binaryKernel<T, false><<<grid, kThreads, 0, s>>>(out, a, b, n, n2, packed, op);
}

// out = s * a, or out = value (a null) for broadcastScalar, whose value lives on the device.
template <typename T>
__global__ void scaleKernel(T* out, const T* a, float sc, const float* g, int64_t n, bool packed) {
  constexpr int N = kVec<T>;
  const float gv = g ? g[0] * sc : 0.0f;
  if (packed) {
    const int64_t packs = n / N;
    GLM_GRID_STRIDE(i, packs) {
      Pack<T, N> po;
      if (g) {
#pragma unroll
        for (int k = 0; k < N; k++) po.v[k] = fromF<T>(gv);
      } else {
        Pack<T, N> pa = loadPack<N>(a + i * N);
#pragma unroll
        for (int k = 0; k < N; k++) po.v[k] = fromF<T>(sc * toF(pa.v[k]));
      }
      storePack<N>(out + i * N, po);
    }
    const int64_t i = packs * N + int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = fromF<T>(g ? gv : sc * toF(a[i]));
  } else {
    GLM_GRID_STRIDE(i, n) { out[i] = fromF<T>(g ? gv : sc * toF(a[i])); }
  }
}

template <typename T>
void launchScale(T* out, const T* a, float sc, const float* g, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  const bool packed = aligned16(out) && (a == nullptr || aligned16(a));
  scaleKernel<T><<<gridFor(packed ? n / kVec<T> + 1 : n, kThreads), kThreads, 0, s>>>(out, a, sc, g, n, packed);
}

struct Identity {
  __device__ float operator()(float x) const { return x; }
};

// out[0] = s * total
struct StoreScaledSum {
  float* out;
  float s;
  __device__ void operator()(double total) const { out[0] = float(total * double(s)); }
};

// Column c of an (R, C) matrix.
template <typename T> struct ColumnValue {
  const T* a;
  int64_t C;
  __device__ void operator()(int64_t r, int64_t c, double (&acc)[1]) const { acc[0] += toF(a[r * C + c]); }
};

// out[c] = beta * out[c] + alpha * sum; out is not read when beta == 0 (it may hold garbage).
template <typename T> struct StoreColumnSum {
  T* out;
  float alpha, beta;
  __device__ void operator()(int64_t c, const double (&sums)[1]) const {
    const float prev = beta == 0.0f ? 0.0f : beta * toF(out[c]);
    out[c] = fromF<T>(prev + alpha * float(sums[0]));
  }
};

}  // namespace

template <typename T> void add(T* out, const T* a, const T* b, float beta, int64_t n, int64_t n2, void* stream) {
  binary(dev(out), dev(a), dev(b), n, n2, AddFn{beta}, asStream(stream));
}

template <typename T> void mul(T* out, const T* a, const T* b, int64_t n, int64_t n2, void* stream) {
  binary(dev(out), dev(a), dev(b), n, n2, MulFn{}, asStream(stream));
}

template <typename T> void scale(T* out, const T* a, float s, int64_t n, void* stream) {
  launchScale(dev(out), dev(a), s, nullptr, n, asStream(stream));
}

template <typename T> void sumRows(T* out, const T* a, float alpha, float beta, int64_t n, int64_t n2, void* stream) {
  if (n2 <= 0) return;
  const int64_t rows = n / n2;
  if (rows == 0) {
    // No rows: every column's sum is 0, so only the beta term remains.
    finishColumnsKernel<1><<<gridFor(n2, 256, 4), 256, 0, asStream(stream)>>>(
        static_cast<const double*>(nullptr), 0, n2, StoreColumnSum<DeviceType<T>>{dev(out), alpha, beta});
    return;
  }
  sumColumns<1>(rows, n2, ColumnValue<DeviceType<T>>{dev(a), n2},
                StoreColumnSum<DeviceType<T>>{dev(out), alpha, beta}, asStream(stream));
}

template <typename T> void sumAll(float* out, const T* a, float s, int64_t n, void* stream) {
  if (n <= 0) {
    StoreScaledSum fin{out, s};
    finishSumKernel<<<1, 32, 0, asStream(stream)>>>(static_cast<const double*>(nullptr), 0, fin);
    return;
  }
  sumVector(dev(a), n, Identity{}, StoreScaledSum{out, s}, asStream(stream));
}

template <typename T> void broadcastScalar(T* out, const float* g, float s, int64_t n, void* stream) {
  launchScale(dev(out), static_cast<const DeviceType<T>*>(nullptr), s, g, n, asStream(stream));
}

#define GLM_INSTANTIATE(T)                                                            \
  template void add<T>(T*, const T*, const T*, float, int64_t, int64_t, void*);      \
  template void mul<T>(T*, const T*, const T*, int64_t, int64_t, void*);             \
  template void scale<T>(T*, const T*, float, int64_t, void*);                       \
  template void sumRows<T>(T*, const T*, float, float, int64_t, int64_t, void*);     \
  template void sumAll<T>(float*, const T*, float, int64_t, void*);                  \
  template void broadcastScalar<T>(T*, const float*, float, int64_t, void*);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cuda
