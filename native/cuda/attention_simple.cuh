// The straightforward attention kernels (CUDA cores, f32 arithmetic) for every case the flash
// kernels do not cover: f32 tensors, head dimensions above 128, GPUs older than sm_80. One warp per
// query row (forward, dQ) or key row (dK/dV); scores for 32 keys (queries) at a time, one per lane,
// with the online softmax over those groups; the output row is spread over the lanes in passes of
// 256 columns (8 per lane), recomputing the scores for each pass, so any D works without shared
// memory. Also the backward preprocessing kernel (delta = rowsum(dO ∘ O)) shared with the flash path.
#pragma once
#include "flash_common.cuh"

namespace glm::cuda::attn {

constexpr int kSimpleWarps = 4;       // rows per block
constexpr int kColsPerLane = 8;       // output columns per lane per pass
constexpr int kPassCols = 32 * kColsPerLane;

template <typename E>
__device__ __forceinline__ float dotRow(const E* x, const E* y, int D) {
  float s = 0.0f;
  for (int d = 0; d < D; ++d) s = fmaf(mma::toF(x[d]), mma::toF(y[d]), s);
  return s;
}

// delta[bh, i] = sum_d dO[bh, i, d] · O[bh, i, d] (f32). One warp per row; grid (row blocks, H, B).
template <typename E>
__global__ void __launch_bounds__(32 * kSimpleWarps) attnDeltaKernel(AttnArgs<E> a) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * kSimpleWarps + warp;
  if (row >= a.Tq) return;
  const int64_t bh = static_cast<int64_t>(blockIdx.z) * a.H + blockIdx.y;
  const E* o = a.o + (bh * a.Tq + row) * a.D;
  const E* dO = a.dO + (bh * a.Tq + row) * a.D;
  float s = 0.0f;
  for (int d = lane; d < a.D; d += 32) s = fmaf(mma::toF(o[d]), mma::toF(dO[d]), s);
  s = mma::warpSum(s);
  if (lane == 0) a.delta[bh * a.Tq + row] = s;
}

// out, lseOut for one query row per warp. Grid (ceil(Tq / 4), H, B).
template <typename E>
__global__ void __launch_bounds__(32 * kSimpleWarps) attnForwardSimpleKernel(AttnArgs<E> a) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * kSimpleWarps + warp;
  if (row >= a.Tq) return;
  const int b = blockIdx.z;
  const int64_t bh = static_cast<int64_t>(b) * a.H + blockIdx.y;
  const E* q = a.q + (bh * a.Tq + row) * a.D;
  const E* K = a.k + bh * a.Tk * a.D;
  const E* V = a.v + bh * a.Tk * a.D;
  E* out = a.out + (bh * a.Tq + row) * a.D;
  const int nVis = visibleKeys(a, keyLength(a, b), row + a.Tk - a.Tq);

  for (int dc = 0; dc == 0 || dc < a.D; dc += kPassCols) {
    float o[kColsPerLane] = {};
    float m = -INFINITY, l = 0.0f;  // base-2 running max; full (warp-wide) running sum
    for (int j0 = 0; j0 < nVis; j0 += 32) {
      const int j = j0 + lane;
      const float x = j < nVis ? dotRow(q, K + static_cast<int64_t>(j) * a.D, a.D) * a.scaleLog2 : -INFINITY;
      const float mNew = fmaxf(m, mma::warpMax(x));  // finite: lane 0's key is visible
      const float corr = exp2f(m - mNew);
      const float p = exp2f(x - mNew);
      l = l * corr + mma::warpSum(p);
      m = mNew;
#pragma unroll
      for (int i = 0; i < kColsPerLane; ++i) o[i] *= corr;
      const int count = min(32, nVis - j0);
      for (int kk = 0; kk < count; ++kk) {
        const float pk = __shfl_sync(0xffffffffu, p, kk);
        const E* vrow = V + static_cast<int64_t>(j0 + kk) * a.D;
#pragma unroll
        for (int i = 0; i < kColsPerLane; ++i) {
          const int d = dc + lane + 32 * i;
          if (d < a.D) o[i] = fmaf(pk, mma::toF(vrow[d]), o[i]);
        }
      }
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < kColsPerLane; ++i) {
      const int d = dc + lane + 32 * i;
      if (d < a.D) out[d] = mma::fromF<E>(o[i] * inv);
    }
    if (dc == 0 && lane == 0) a.lseOut[bh * a.Tq + row] = l > 0.0f ? (m + log2f(l)) * kLn2 : -INFINITY;
  }
}

// dq for one query row per warp: dq = scale · sum_j dS_j k_j, dS_j = P_j (dO·v_j − delta).
template <typename E>
__global__ void __launch_bounds__(32 * kSimpleWarps) attnBwdDqSimpleKernel(AttnArgs<E> a) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * kSimpleWarps + warp;
  if (row >= a.Tq) return;
  const int b = blockIdx.z;
  const int64_t bh = static_cast<int64_t>(b) * a.H + blockIdx.y;
  const int64_t rowOff = (bh * a.Tq + row) * a.D;
  const E* q = a.q + rowOff;
  const E* dO = a.dO + rowOff;
  const E* K = a.k + bh * a.Tk * a.D;
  const E* V = a.v + bh * a.Tk * a.D;
  E* dq = a.dq + rowOff;
  const int nVis = visibleKeys(a, keyLength(a, b), row + a.Tk - a.Tq);
  const float lse2 = a.lse[bh * a.Tq + row] * kLog2e;  // finite whenever nVis > 0
  const float delta = a.delta[bh * a.Tq + row];

  for (int dc = 0; dc < a.D; dc += kPassCols) {
    float acc[kColsPerLane] = {};
    for (int j0 = 0; j0 < nVis; j0 += 32) {
      const int j = j0 + lane;
      float ds = 0.0f;
      if (j < nVis) {
        const float p = exp2f(dotRow(q, K + static_cast<int64_t>(j) * a.D, a.D) * a.scaleLog2 - lse2);
        ds = p * (dotRow(dO, V + static_cast<int64_t>(j) * a.D, a.D) - delta);
      }
      const int count = min(32, nVis - j0);
      for (int kk = 0; kk < count; ++kk) {
        const float dsk = __shfl_sync(0xffffffffu, ds, kk);
        const E* krow = K + static_cast<int64_t>(j0 + kk) * a.D;
#pragma unroll
        for (int i = 0; i < kColsPerLane; ++i) {
          const int d = dc + lane + 32 * i;
          if (d < a.D) acc[i] = fmaf(dsk, mma::toF(krow[d]), acc[i]);
        }
      }
    }
#pragma unroll
    for (int i = 0; i < kColsPerLane; ++i) {
      const int d = dc + lane + 32 * i;
      if (d < a.D) dq[d] = mma::fromF<E>(acc[i] * a.scale);
    }
  }
}

// dk, dv for one key row per warp: dv = sum_i P_i dO_i, dk = scale · sum_i dS_i q_i over the
// queries i that see the key. Grid (ceil(Tk / 4), H, B).
template <typename E>
__global__ void __launch_bounds__(32 * kSimpleWarps) attnBwdDkDvSimpleKernel(AttnArgs<E> a) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int key = blockIdx.x * kSimpleWarps + warp;
  if (key >= a.Tk) return;
  const int b = blockIdx.z;
  const int64_t bh = static_cast<int64_t>(b) * a.H + blockIdx.y;
  const int64_t keyOff = (bh * a.Tk + key) * a.D;
  const E* k = a.k + keyOff;
  const E* v = a.v + keyOff;
  const E* Q = a.q + bh * a.Tq * a.D;
  const E* dO = a.dO + bh * a.Tq * a.D;
  const float* lse = a.lse + bh * a.Tq;
  const float* delta = a.delta + bh * a.Tq;
  E* dk = a.dk + keyOff;
  E* dv = a.dv + keyOff;
  const int keyLen = keyLength(a, b);
  const int firstQ = firstQuerySeeing(a, keyLen, key);
  const int offset = a.Tk - a.Tq;

  for (int dc = 0; dc < a.D; dc += kPassCols) {
    float gk[kColsPerLane] = {}, gv[kColsPerLane] = {};
    for (int i0 = firstQ; i0 < a.Tq; i0 += 32) {
      const int i = i0 + lane;
      float p = 0.0f, ds = 0.0f;
      if (i < a.Tq && key < visibleKeys(a, keyLen, i + offset)) {
        const int64_t qOff = static_cast<int64_t>(i) * a.D;
        p = exp2f(dotRow(Q + qOff, k, a.D) * a.scaleLog2 - lse[i] * kLog2e);
        ds = p * (dotRow(dO + qOff, v, a.D) - delta[i]);
      }
      const int count = min(32, a.Tq - i0);
      for (int kk = 0; kk < count; ++kk) {
        const float pk = __shfl_sync(0xffffffffu, p, kk);
        const float dsk = __shfl_sync(0xffffffffu, ds, kk);
        const int64_t qOff = static_cast<int64_t>(i0 + kk) * a.D;
#pragma unroll
        for (int c = 0; c < kColsPerLane; ++c) {
          const int d = dc + lane + 32 * c;
          if (d < a.D) {
            gv[c] = fmaf(pk, mma::toF(dO[qOff + d]), gv[c]);
            gk[c] = fmaf(dsk, mma::toF(Q[qOff + d]), gk[c]);
          }
        }
      }
    }
#pragma unroll
    for (int c = 0; c < kColsPerLane; ++c) {
      const int d = dc + lane + 32 * c;
      if (d < a.D) {
        dk[d] = mma::fromF<E>(gk[c] * a.scale);
        dv[d] = mma::fromF<E>(gv[c]);
      }
    }
  }
}

}  // namespace glm::cuda::attn
