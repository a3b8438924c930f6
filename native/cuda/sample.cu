// CUDA token sampling; the rules of native/cpu/sample.h. One block per row, the row's f32 logits in a
// scratch buffer (L2-resident for vocabularies of GPT-2's size):
//   1. bias and NaN -> -inf into the scratch; penalties: each history position counts its id over the
//      row's history, and the first position holding the id applies the penalty (so each distinct id
//      is penalised once, by one thread: no atomics);
//   2. greedy and the max: a block-wide max of the 64-bit keys (x descending, id ascending);
//   3. top-k and top-p: a binary search for the largest key cut whose prefix {key >= cut} still
//      holds k tokens (a count) or the top-p target (a mass): first over the 32 value bits, then over
//      the ids of the boundary value; each probe is one pass over the row and a block sum;
//   4. sampling: the kept total, then a tiled block scan in id order for the first cumulative mass
//      above u · total.
// Sums are double, in an order fixed by the sizes (per-thread strided sums, then a fixed tree), so a
// call repeats bit for bit; they differ from the CPU's order, hence the note in sample.h.
#include <cmath>

#include "../core/error.h"
#include "common.cuh"
#include "device_error.cuh"
#include "sample.h"

namespace glm::cuda {
namespace {

constexpr int kThreads = 512;

// Max over the block; every thread gets it. Contains __syncthreads.
__device__ unsigned long long blockMaxU64(unsigned long long v) {
  __shared__ unsigned long long shared[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long n = __shfl_xor_sync(0xffffffffu, v, o);
    v = n > v ? n : v;
  }
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  unsigned long long r = lane < warps ? shared[lane] : 0ull;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long n = __shfl_xor_sync(0xffffffffu, r, o);
    r = n > r ? n : r;
  }
  return r;
}

// Inclusive scan over the block in thread order (Hillis-Steele in shared memory: a fixed order of
// additions); *total gets the block's sum. blockDim.x <= kThreads. Contains __syncthreads.
__device__ double blockInclusiveScan(double v, double* total) {
  __shared__ double buf[kThreads];
  const int i = threadIdx.x;
  __syncthreads();  // the previous call's readers are done
  buf[i] = v;
  __syncthreads();
  for (int o = 1; o < int(blockDim.x); o <<= 1) {
    const double add = i >= o ? buf[i - o] : 0.0;
    __syncthreads();
    v += add;
    buf[i] = v;
    __syncthreads();
  }
  *total = buf[blockDim.x - 1];
  return v;
}

struct Row {
  const float* x;
  int64_t V;
  float m;  // the max
  float temperature;
  __device__ float weight(float t) const { return t == m ? 1.0f : expf((t - m) / temperature); }
};

// Number of tokens with key >= cut.
__device__ long long countFrom(const Row& r, unsigned long long cut) {
  long long c = 0;
  for (int64_t v = threadIdx.x; v < r.V; v += blockDim.x) c += sampleKey(r.x[v], uint32_t(v)) >= cut ? 1 : 0;
  return blockSum(c);
}

// Mass of the tokens with key >= cut.
__device__ double massFrom(const Row& r, unsigned long long cut) {
  double s = 0;
  for (int64_t v = threadIdx.x; v < r.V; v += blockDim.x) {
    const float t = r.x[v];
    if (sampleKey(t, uint32_t(v)) >= cut) s += double(r.weight(t));
  }
  return blockSum(s);
}

// The largest cut >= lo with pred(cut) (pred is monotone: true at lo, false above the top key `top`);
// pred is collective (every thread calls it with the same argument and gets the same answer).
template <typename Pred>
__device__ unsigned long long largestCut(unsigned long long lo, unsigned long long top, int64_t V, Pred pred) {
  // The value bits: pred(hv << 32) holds at hv = lo >> 32 (a smaller cut than lo).
  unsigned long long a = lo >> 32, b = (top >> 32) + 1;
  while (b - a > 1) {
    const unsigned long long mid = a + (b - a) / 2;
    if (pred(mid << 32)) a = mid;
    else b = mid;
  }
  // The ids within value a: low words run over [2^32 − V, 2^32).
  unsigned long long c0 = (a << 32) | (0x100000000ull - (unsigned long long)V), c1 = (a + 1) << 32;
  if (c0 < lo) c0 = lo;
  while (c1 - c0 > 1) {
    const unsigned long long mid = c0 + (c1 - c0) / 2;
    if (pred(mid)) c0 = mid;
    else c1 = mid;
  }
  return c0;
}

template <typename T>
__global__ void sampleKernel(int32_t* out, float* xs, const T* logits, const int32_t* history, const float* bias,
                             int64_t V, int64_t L, int64_t biasRows, SampleParams p, bool logitsOnly, ErrorSink sink) {
  const int64_t b = blockIdx.x;
  float* x = xs + b * V;
  const T* row = logits + b * V;
  const float* bi = bias ? bias + (biasRows == 1 ? 0 : b * V) : nullptr;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    float t = toF(row[v]);
    if (bi) t += bi[v];
    x[v] = t != t ? -INFINITY : t;  // NaN
  }
  __syncthreads();
  if (history) {
    const int32_t* h = history + b * L;
    const bool penalize_ = p.repetitionPenalty != 1.0f || p.frequencyPenalty != 0.0f || p.presencePenalty != 0.0f;
    for (int64_t l = threadIdx.x; l < L; l += blockDim.x) {
      const int32_t id = h[l];
      if (id == -1) continue;
      if (id < -1 || id >= V) {
        reportDeviceError(sink, kErrIdOutOfRange, b * L + l, id, V);
        continue;
      }
      if (!penalize_) continue;
      int count = 0;
      bool first = true;
      for (int64_t k = 0; k < L; k++) {
        if (h[k] != id) continue;
        if (k < l) {
          first = false;
          break;
        }
        count++;
      }
      if (!first) continue;
      const float t = penalize(x[id], count, p);
      x[id] = t != t ? -INFINITY : t;
    }
    __syncthreads();
  }
  if (logitsOnly) return;

  unsigned long long best = 0;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const unsigned long long k = sampleKey(x[v], uint32_t(v));
    best = k > best ? k : best;
  }
  best = blockMaxU64(best);
  const int32_t arg = int32_t(0xFFFFFFFFu - uint32_t(best));
  if (p.temperature == 0.0f) {
    if (threadIdx.x == 0) out[b] = arg;
    return;
  }
  const Row r{x, V, x[arg], p.temperature};

  unsigned long long cut = 0;
  if (p.topK > 0 && p.topK < V) {
    const long long k = p.topK;
    cut = largestCut(0ull, best, V, [&](unsigned long long c) { return countFrom(r, c) >= k; });
  }
  if (p.topP < 1.0f) {
    const double target = double(p.topP) * massFrom(r, cut);
    cut = largestCut(cut, best, V, [&](unsigned long long c) { return massFrom(r, c) >= target; });
  }

  double s = 0;
  unsigned long long last = 0;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const float t = x[v], w = r.weight(t);
    if (sampleKey(t, uint32_t(v)) >= cut && w >= p.minP) {
      s += double(w);
      last = (unsigned long long)v + 1;
    }
  }
  const double total = blockSum(s);
  last = blockMaxU64(last);
  const double target = sampleUniform(p.seed, p.offset, uint32_t(b)) * total;
  double running = 0;
  unsigned long long pick = 0;
  for (int64_t base = 0; base < V; base += blockDim.x) {
    const int64_t v = base + threadIdx.x;
    double w = 0;
    if (v < V) {
      const float t = x[v], wf = r.weight(t);
      if (sampleKey(t, uint32_t(v)) >= cut && wf >= p.minP) w = double(wf);
    }
    double tile;
    const double cum = running + blockInclusiveScan(w, &tile);
    // The first position (lowest id) whose cumulative mass exceeds the target.
    pick = blockMaxU64(v < V && w > 0 && cum > target ? 0x100000000ull - (unsigned long long)v : 0ull);
    if (pick != 0) break;  // the same for the whole block
    running += tile;
  }
  if (threadIdx.x == 0) out[b] = pick != 0 ? int32_t(0x100000000ull - pick) : int32_t(last - 1);
}

template <typename T>
void launch(int32_t* out, float* xs, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
            int64_t L, int64_t biasRows, SampleParams p, bool logitsOnly, void* stream) {
  GLM_REQUIRE(B <= int64_t(INT32_MAX), "sampleTokens", "at most " << INT32_MAX << " rows per call on CUDA, got " << B);
  sampleKernel<DeviceType<T>><<<unsigned(B), kThreads, 0, asStream(stream)>>>(
      out, xs, dev(logits), history, bias, V, L, biasRows, p, logitsOnly, errorSinkFor(stream));
}

}  // namespace

template <typename T>
void sampleTokens(int32_t* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params, void* stream) {
  if (B <= 0) return;
  ScratchBuffer xs(sizeof(float) * size_t(B) * size_t(V));
  launch(out, xs.as<float>(), logits, history, bias, B, V, L, biasRows, params, false, stream);
}

template <typename T>
void sampleLogits(float* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params, void* stream) {
  if (B <= 0 || V <= 0) return;
  launch<T>(nullptr, out, logits, history, bias, B, V, L, biasRows, params, true, stream);
}

#define GLM_INSTANTIATE(T)                                                                                      \
  template void sampleTokens<T>(int32_t*, const T*, const int32_t*, const float*, int64_t, int64_t, int64_t, \
                                int64_t, SampleParams, void*);                                                 \
  template void sampleLogits<T>(float*, const T*, const int32_t*, const float*, int64_t, int64_t, int64_t,   \
                                int64_t, SampleParams, void*);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cuda
