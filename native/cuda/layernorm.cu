// CUDA LayerNorm; the contract of native/cpu/layernorm.h. One warp per row (rows are short: C is the
// model width), reading the row with 16-byte loads when aligned; mean and variance in two passes for
// accuracy. The backward writes dinp per row and gets dweight/dbias from a deterministic two-stage
// column reduction (reduce.cuh), never from atomics.
#include "common.cuh"
#include "layernorm.h"
#include "reduce.cuh"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256;  // 8 rows per block
constexpr int kRowsPerBlock = kThreads / 32;

template <typename T>
__global__ void layernormForwardKernel(T* out, float* mean, float* rstd, const T* inp, const T* weight, const T* bias,
                                       int64_t N, int64_t C, float eps, bool packed) {
  constexpr int V = kVec<T>;
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  const float invC = 1.0f / float(C);
  for (int64_t r = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; r < N; r += warps) {
    const T* x = inp + r * C;
    T* y = out + r * C;
    float s = 0;
    if (packed) {
      for (int64_t c = int64_t(lane) * V; c < C; c += 32 * V) {
        const Pack<T, V> p = loadPack<V>(x + c);
#pragma unroll
        for (int k = 0; k < V; k++) s += toF(p.v[k]);
      }
    } else {
      for (int64_t c = lane; c < C; c += 32) s += toF(x[c]);
    }
    const float m = warpSum(s) * invC;
    float q = 0;
    if (packed) {
      for (int64_t c = int64_t(lane) * V; c < C; c += 32 * V) {
        const Pack<T, V> p = loadPack<V>(x + c);
#pragma unroll
        for (int k = 0; k < V; k++) {
          const float d = toF(p.v[k]) - m;
          q += d * d;
        }
      }
    } else {
      for (int64_t c = lane; c < C; c += 32) {
        const float d = toF(x[c]) - m;
        q += d * d;
      }
    }
    const float rs = 1.0f / sqrtf(warpSum(q) * invC + eps);
    if (packed) {
      for (int64_t c = int64_t(lane) * V; c < C; c += 32 * V) {
        const Pack<T, V> p = loadPack<V>(x + c), w = loadPack<V>(weight + c);
        Pack<T, V> b, o;
        if (bias) b = loadPack<V>(bias + c);
#pragma unroll
        for (int k = 0; k < V; k++)
          o.v[k] = fromF<T>((toF(p.v[k]) - m) * rs * toF(w.v[k]) + (bias ? toF(b.v[k]) : 0.0f));
        storePack<V>(y + c, o);
      }
    } else {
      for (int64_t c = lane; c < C; c += 32)
        y[c] = fromF<T>((toF(x[c]) - m) * rs * toF(weight[c]) + (bias ? toF(bias[c]) : 0.0f));
    }
    if (lane == 0) {
      if (mean) mean[r] = m;
      if (rstd) rstd[r] = rs;
    }
  }
}

// dinp = rstd · (g - mean(g) - x̂ · mean(g · x̂)) with g = dout · weight, x̂ = (x - mean) · rstd.
template <typename T>
__global__ void layernormBackwardRowsKernel(T* dinp, const T* dout, const T* inp, const T* weight, const float* mean,
                                            const float* rstd, int64_t N, int64_t C, bool packed) {
  constexpr int V = kVec<T>;
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  const float invC = 1.0f / float(C);
  for (int64_t r = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; r < N; r += warps) {
    const T* x = inp + r * C;
    const T* go = dout + r * C;
    T* gi = dinp + r * C;
    const float m = mean[r], rs = rstd[r];
    float sg = 0, sgx = 0;
    if (packed) {
      for (int64_t c = int64_t(lane) * V; c < C; c += 32 * V) {
        const Pack<T, V> p = loadPack<V>(x + c), d = loadPack<V>(go + c), w = loadPack<V>(weight + c);
#pragma unroll
        for (int k = 0; k < V; k++) {
          const float g = toF(d.v[k]) * toF(w.v[k]);
          sg += g;
          sgx += g * (toF(p.v[k]) - m) * rs;
        }
      }
    } else {
      for (int64_t c = lane; c < C; c += 32) {
        const float g = toF(go[c]) * toF(weight[c]);
        sg += g;
        sgx += g * (toF(x[c]) - m) * rs;
      }
    }
    const float meanG = warpSum(sg) * invC, meanGX = warpSum(sgx) * invC;
    if (packed) {
      for (int64_t c = int64_t(lane) * V; c < C; c += 32 * V) {
        const Pack<T, V> p = loadPack<V>(x + c), d = loadPack<V>(go + c), w = loadPack<V>(weight + c);
        Pack<T, V> o;
#pragma unroll
        for (int k = 0; k < V; k++) {
          const float xh = (toF(p.v[k]) - m) * rs;
          o.v[k] = fromF<T>(rs * (toF(d.v[k]) * toF(w.v[k]) - meanG - xh * meanGX));
        }
        storePack<V>(gi + c, o);
      }
    } else {
      for (int64_t c = lane; c < C; c += 32) {
        const float xh = (toF(x[c]) - m) * rs;
        gi[c] = fromF<T>(rs * (toF(go[c]) * toF(weight[c]) - meanG - xh * meanGX));
      }
    }
  }
}

// Element (r, c) adds dout · x̂ (for dweight) and dout (for dbias).
template <typename T> struct WeightGradTerms {
  const T* dout;
  const T* inp;
  const float* mean;
  const float* rstd;
  int64_t C;
  __device__ void operator()(int64_t r, int64_t c, double (&acc)[2]) const {
    const float g = toF(dout[r * C + c]);
    acc[0] += double(g * ((toF(inp[r * C + c]) - mean[r]) * rstd[r]));
    acc[1] += double(g);
  }
};

template <typename T> struct StoreWeightGrads {
  T* dweight;  // either may be null
  T* dbias;
  __device__ void operator()(int64_t c, const double (&sums)[2]) const {
    if (dweight) dweight[c] = fromF<T>(float(sums[0]));
    if (dbias) dbias[c] = fromF<T>(float(sums[1]));
  }
};

unsigned rowGrid(int64_t N) { return gridFor(N, kRowsPerBlock, 16); }

}  // namespace

template <typename T>
void layernormForward(T* out, float* mean, float* rstd, const T* inp, const T* weight, const T* bias, int64_t N,
                      int64_t C, float eps, void* stream) {
  if (N <= 0 || C <= 0) return;
  const bool packed = C % kVec<T> == 0 && aligned16(out) && aligned16(inp) && aligned16(weight) &&
                      (bias == nullptr || aligned16(bias));
  layernormForwardKernel<<<rowGrid(N), kThreads, 0, asStream(stream)>>>(dev(out), mean, rstd, dev(inp), dev(weight),
                                                                         dev(bias), N, C, eps, packed);
}

template <typename T>
void layernormBackward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const float* mean,
                       const float* rstd, int64_t N, int64_t C, void* stream) {
  if (C <= 0) return;
  cudaStream_t s = asStream(stream);
  using D = DeviceType<T>;
  // Column sums first: they read dout, which the row kernel may overwrite if dinp aliases it.
  if (dweight || dbias) {
    if (N > 0) {
      sumColumns<2>(N, C, WeightGradTerms<D>{dev(dout), dev(inp), mean, rstd, C},
                    StoreWeightGrads<D>{dev(dweight), dev(dbias)}, s);
    } else {
      finishColumnsKernel<2><<<gridFor(C, 256, 4), 256, 0, s>>>(static_cast<const double*>(nullptr), 0, C,
                                                                  StoreWeightGrads<D>{dev(dweight), dev(dbias)});
    }
  }
  if (dinp && N > 0) {
    const bool packed =
        C % kVec<T> == 0 && aligned16(dinp) && aligned16(dout) && aligned16(inp) && aligned16(weight);
    layernormBackwardRowsKernel<<<rowGrid(N), kThreads, 0, s>>>(dev(dinp), dev(dout), dev(inp), dev(weight), mean,
                                                                 rstd, N, C, packed);
  }
}

#define GLM_INSTANTIATE(T)                                                                                      \
  template void layernormForward<T>(T*, float*, float*, const T*, const T*, const T*, int64_t, int64_t, float, \
                                    void*);                                                                     \
  template void layernormBackward<T>(T*, T*, T*, const T*, const T*, const T*, const float*, const float*,      \
                                     int64_t, int64_t, void*);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cuda
