// Pieces shared by the CUDA attention kernels (native/cuda/attention.cu): the kernel arguments,
// the mask rule, and the global -> shared row-tile loader of the flash kernels.
//
// Every mask of the contract is a prefix of the keys: a query at absolute position qpos sees
// exactly the keys j < visibleKeys(qpos), where
//   None:   keyLen
//   Causal: min(keyLen, qpos + 1)
//   Prefix: min(keyLen, max(qpos + 1, prefix))
// (keyLen = keyLengths[b] clamped to [0, Tk], or Tk). visibleKeys is non-decreasing in qpos, so
// over a tile of queries the first row sees the fewest keys and the last row the most; that is
// what the tile-skipping and "needs no mask" tests below rely on.
#pragma once
#include <cmath>

#include "../cpu/attention.h"
#include "mma_util.cuh"

namespace glm::cuda::attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Arguments of every attention kernel (pointers a kernel does not use stay null).
// Tensors: q, out, dO, dq (B, H, Tq, D); k, v, dk, dv (B, H, Tk, D); lse, delta (B, H, Tq) f32.
template <typename E>
struct AttnArgs {
  const E* q;
  const E* k;
  const E* v;
  const E* o;   // forward output (backward only)
  const E* dO;  // gradient of the output (backward only)
  E* out;
  E* dq;
  E* dk;
  E* dv;
  float* lseOut;        // forward: written
  const float* lse;     // backward: read
  float* delta;         // backward: rowsum(dO * O), written by the preprocessing kernel
  const int32_t* keyLengths;  // (B) or null
  int H, Tq, Tk, D;
  float scale;      // softmax scale
  float scaleLog2;  // scale * log2(e): scores go to base-2 exponent units with one multiply
  int mask;         // MaskKind
  int prefix;       // clamped to [0, Tk]
  bool vec;         // all tensors 16-byte aligned and D % 8 == 0: 16-byte cp.async rows
};

template <typename E>
__device__ __forceinline__ int keyLength(const AttnArgs<E>& a, int b) {
  if (!a.keyLengths) return a.Tk;
  return min(max(a.keyLengths[b], 0), a.Tk);
}

// The number of keys (a prefix) visible to a query at absolute position qpos; see the file comment.
template <typename E>
__device__ __forceinline__ int visibleKeys(const AttnArgs<E>& a, int keyLen, int qpos) {
  int n = keyLen;
  if (a.mask == static_cast<int>(MaskKind::Causal)) {
    n = min(n, qpos + 1);
  } else if (a.mask == static_cast<int>(MaskKind::Prefix)) {
    n = min(n, max(qpos + 1, a.prefix));
  }
  return max(n, 0);
}

// The first query row (index in [0, Tq]) that sees key j: the smallest i with
// visibleKeys(i + Tk - Tq) > j; Tq when none does.
template <typename E>
__device__ __forceinline__ int firstQuerySeeing(const AttnArgs<E>& a, int keyLen, int j) {
  if (j >= keyLen) return a.Tq;
  if (a.mask == static_cast<int>(MaskKind::None)) return 0;
  if (a.mask == static_cast<int>(MaskKind::Prefix) && j < a.prefix) return 0;
  // Causal part: qpos >= j, i.e. i >= j - (Tk - Tq).
  return min(max(j - (a.Tk - a.Tq), 0), a.Tq);
}

// Copies rows [r0, r0 + R) of a (T, D) bf16 matrix into a swizzled [R][kD] shared tile (kD >= D;
// columns D..kD-1 and rows >= T are zero-filled, so padded head dimensions and edge tiles need no
// masking in the products). vec: 16-byte cp.async chunks; otherwise guarded element loads.
template <int R, int kD, int kThreads>
__device__ __forceinline__ void loadRows(__nv_bfloat16* s, const __nv_bfloat16* g, int T, int D, int r0, bool vec) {
  constexpr int kChunks = kD / 8;
  constexpr int kTotal = R * kChunks;
  constexpr int kIters = (kTotal + kThreads - 1) / kThreads;
  if (vec) {
#pragma unroll
    for (int i = 0; i < kIters; ++i) {
      const int c = threadIdx.x + i * kThreads;
      if (kTotal % kThreads != 0 && c >= kTotal) break;
      const int row = c / kChunks, col = (c % kChunks) * 8, gr = r0 + row;
      const bool ok = gr < T && col < D;
      mma::cpAsync16(mma::smemAddr(s + mma::swizzledOffset<kChunks>(row, col)),
                     ok ? g + static_cast<int64_t>(gr) * D + col : g, ok);
    }
  } else {
    const uint16_t* gr16 = reinterpret_cast<const uint16_t*>(g);
#pragma unroll 1
    for (int c = threadIdx.x; c < kTotal; c += kThreads) {
      const int row = c / kChunks, col = (c % kChunks) * 8, gr = r0 + row;
      union {
        uint4 v;
        uint16_t e[8];
      } u;
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        u.e[e] = (gr < T && col + e < D) ? gr16[static_cast<int64_t>(gr) * D + col + e] : uint16_t(0);
      }
      *reinterpret_cast<uint4*>(s + mma::swizzledOffset<kChunks>(row, col)) = u.v;
    }
  }
}

// ldmatrix address helpers for a swizzled [rows][kD] bf16 tile (fragment layouts: mma_util.cuh).
//
// As the A operand (16 rows starting at row0, k = columns kk..kk+15): lanes 0-15 address rows
// row0 + 0..15 at column kk, lanes 16-31 the same rows at kk + 8 -> a[0..3] of mma.m16n8k16.
template <int kD>
__device__ __forceinline__ uint32_t addrA(const __nv_bfloat16* s, int row0, int kk, int lane) {
  return mma::smemAddr(s + mma::swizzledOffset<kD / 8>(row0 + (lane & 15), kk + (lane >> 4) * 8));
}
// As the B operand with the tile's rows as n (B[k][n] = tile[n][k], e.g. K in Q·Kᵀ): 16 rows
// starting at n0, k = columns kk..kk+15, non-transposed ldmatrix. Registers: {b0, b1} of rows
// n0..n0+7, then {b0, b1} of rows n0+8..n0+15.
template <int kD>
__device__ __forceinline__ uint32_t addrBRows(const __nv_bfloat16* s, int n0, int kk, int lane) {
  return mma::smemAddr(
      s + mma::swizzledOffset<kD / 8>(n0 + (lane >> 4) * 8 + (lane & 7), kk + ((lane >> 3) & 1) * 8));
}
// As the B operand with the tile's rows as k (B[k][n] = tile[k][n], e.g. V in P·V): k = rows
// k0..k0+15, n = columns n0..n0+15, transposed ldmatrix. Registers: {b0, b1} of columns n0..n0+7,
// then {b0, b1} of columns n0+8..n0+15.
template <int kD>
__device__ __forceinline__ uint32_t addrBCols(const __nv_bfloat16* s, int k0, int n0, int lane) {
  return mma::smemAddr(
      s + mma::swizzledOffset<kD / 8>(k0 + ((lane >> 3) & 1) * 8 + (lane & 7), n0 + (lane >> 4) * 8));
}

}  // namespace glm::cuda::attn
