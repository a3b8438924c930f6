// Flash attention backward for bf16 on tensor cores (FlashAttention-2 structure, deterministic):
//   1. attnDeltaKernel (attention_simple.cuh):  delta_i = rowsum(dO ∘ O)_i, f32 scratch;
//   2. flashBwdDkDvKernel: one block per (key tile, head, batch item) loops over query tiles,
//      recomputes Pᵀ from lse, and accumulates dV = Pᵀ·dO and dK = scale·dSᵀ·Q in registers,
//      written once (dSᵀ = Pᵀ ∘ (dPᵀ − delta), dPᵀ = V·dOᵀ);
//   3. flashBwdDqKernel: one block per (query tile, head, batch item) loops over key tiles and
//      accumulates dQ = scale·dS·K in registers.
// Computing dQ in its own pass recomputes S and dP once more (7 tile products instead of 5) but
// needs no atomics, so every gradient is bitwise reproducible run to run.
//
// In the dK/dV kernel each warp owns 16 keys and computes the transposed products Sᵀ = K·Qᵀ and
// dPᵀ = V·dOᵀ, so Pᵀ and dSᵀ come out as C fragments with keys as rows: exactly the A fragments that
// dV += Pᵀ·dO and dK += dSᵀ·Q need (no shared-memory round trip), with Q and dO read as B operands.
#pragma once
#include "flash_common.cuh"

namespace glm::cuda::attn {

template <int kD, int kWarps>
struct BwdDqShape {
  static constexpr int BQ = 16 * kWarps, BKV = 64, kThreads = 32 * kWarps;
  // sQ, sdO [BQ][kD]; sK, sV [2][BKV][kD]; bf16.
  static constexpr int kSmemBytes = (2 * BQ + 4 * BKV) * kD * 2;
};

// dq = scale · dS · K, dS = P ∘ (dO·Vᵀ − delta), P = exp(scale·Q·Kᵀ − lse). Grid: (query tiles, H, B).
template <int kD, int kWarps>
__global__ void __launch_bounds__(32 * kWarps) flashBwdDqKernel(AttnArgs<__nv_bfloat16> a) {
#if GLM_TC_ARCH
  using S = BwdDqShape<kD, kWarps>;
  using bf = __nv_bfloat16;
  constexpr int BQ = S::BQ, BKV = S::BKV, kThreads = S::kThreads, kDT = kD / 8;
  extern __shared__ __align__(128) unsigned char smemRaw[];
  bf* sQ = reinterpret_cast<bf*>(smemRaw);
  bf* sdO = sQ + BQ * kD;
  bf* sK = sdO + BQ * kD;
  bf* sV = sK + 2 * BKV * kD;

  const int b = blockIdx.z, h = blockIdx.y;
  const int64_t bh = static_cast<int64_t>(b) * a.H + h;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
  const bf* Q = a.q + bh * a.Tq * a.D;
  const bf* dO = a.dO + bh * a.Tq * a.D;
  const bf* K = a.k + bh * a.Tk * a.D;
  const bf* V = a.v + bh * a.Tk * a.D;
  const int offset = a.Tk - a.Tq;
  const int keyLen = keyLength(a, b);
  const int lastRow = min(q0 + BQ, a.Tq) - 1;
  const int kvEnd = visibleKeys(a, keyLen, lastRow + offset);
  const int minVis = visibleKeys(a, keyLen, q0 + offset);
  const int nTiles = (kvEnd + BKV - 1) / BKV;

  loadRows<BQ, kD, kThreads>(sQ, Q, a.Tq, a.D, q0, a.vec);
  loadRows<BQ, kD, kThreads>(sdO, dO, a.Tq, a.D, q0, a.vec);
  mma::cpAsyncCommit();
  if (nTiles > 0) {
    loadRows<BKV, kD, kThreads>(sK, K, a.Tk, a.D, 0, a.vec);
    loadRows<BKV, kD, kThreads>(sV, V, a.Tk, a.D, 0, a.vec);
  }
  mma::cpAsyncCommit();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int rowA = q0 + warp * 16 + g;  // rows rowA (c[0..1]) and rowA + 8 (c[2..3])
  int nVis[2];
  float lse2[2], delta[2];  // lse in base-2 units; +inf for rows outside Tq or with no key (P = 0)
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = rowA + 8 * r;
    nVis[r] = visibleKeys(a, keyLen, row + offset);
    const float l = row < a.Tq ? a.lse[bh * a.Tq + row] : -INFINITY;
    lse2[r] = l == -INFINITY ? INFINITY : l * kLog2e;
    delta[r] = row < a.Tq ? a.delta[bh * a.Tq + row] : 0.0f;
  }

  float dq[kDT][4];
#pragma unroll
  for (int j = 0; j < kDT; ++j) dq[j][0] = dq[j][1] = dq[j][2] = dq[j][3] = 0.0f;

  for (int it = 0; it < nTiles; ++it) {
    const int stage = it & 1;
    if (it + 1 < nTiles) {
      loadRows<BKV, kD, kThreads>(sK + (stage ^ 1) * BKV * kD, K, a.Tk, a.D, (it + 1) * BKV, a.vec);
      loadRows<BKV, kD, kThreads>(sV + (stage ^ 1) * BKV * kD, V, a.Tk, a.D, (it + 1) * BKV, a.vec);
      mma::cpAsyncCommit();
      mma::cpAsyncWait<1>();
    } else {
      mma::cpAsyncWait<0>();
    }
    __syncthreads();
    const bf* sKt = sK + stage * BKV * kD;
    const bf* sVt = sV + stage * BKV * kD;

    // S = Q·Kᵀ and dP = dO·Vᵀ (16 rows x 64 keys per warp; both with keys as B rows).
    float s[BKV / 8][4], dp[BKV / 8][4];
#pragma unroll
    for (int j = 0; j < BKV / 8; ++j) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
      dp[j][0] = dp[j][1] = dp[j][2] = dp[j][3] = 0.0f;
    }
#pragma unroll
    for (int kk = 0; kk < kD; kk += 16) {
      uint32_t qa[4], da[4];
      mma::ldmatrixX4(qa, addrA<kD>(sQ, warp * 16, kk, lane));
      mma::ldmatrixX4(da, addrA<kD>(sdO, warp * 16, kk, lane));
#pragma unroll
      for (int jj = 0; jj < BKV / 16; ++jj) {
        uint32_t kb[4], vb[4];
        mma::ldmatrixX4(kb, addrBRows<kD>(sKt, jj * 16, kk, lane));
        mma::ldmatrixX4(vb, addrBRows<kD>(sVt, jj * 16, kk, lane));
        mma::mmaBf16(s[2 * jj], qa, kb[0], kb[1]);
        mma::mmaBf16(s[2 * jj + 1], qa, kb[2], kb[3]);
        mma::mmaBf16(dp[2 * jj], da, vb[0], vb[1]);
        mma::mmaBf16(dp[2 * jj + 1], da, vb[2], vb[3]);
      }
    }

    // P = 2^(scale·log2e·s − lse2), 0 where masked; dS = P ∘ (dP − delta), kept in s.
    const int j0 = it * BKV;
    const bool needMask = j0 + BKV > minVis;
#pragma unroll
    for (int j = 0; j < BKV / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        float p = exp2f(s[j][e] * a.scaleLog2 - lse2[r]);
        if (needMask && j0 + j * 8 + 2 * t + (e & 1) >= nVis[r]) p = 0.0f;
        s[j][e] = p * (dp[j][e] - delta[r]);
      }
    }

    // dQ += dS·K: dS C fragments -> A fragments (as P in the forward); K read with keys as k rows.
#pragma unroll
    for (int kk = 0; kk < BKV / 16; ++kk) {
      uint32_t sa[4];
      sa[0] = mma::packBf16(s[2 * kk][0], s[2 * kk][1]);
      sa[1] = mma::packBf16(s[2 * kk][2], s[2 * kk][3]);
      sa[2] = mma::packBf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      sa[3] = mma::packBf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int dd = 0; dd < kD / 16; ++dd) {
        uint32_t kb[4];
        mma::ldmatrixX4Trans(kb, addrBCols<kD>(sKt, kk * 16, dd * 16, lane));
        mma::mmaBf16(dq[2 * dd], sa, kb[0], kb[1]);
        mma::mmaBf16(dq[2 * dd + 1], sa, kb[2], kb[3]);
      }
    }
    __syncthreads();
  }
  mma::cpAsyncWait<0>();

  bf* dqOut = a.dq + bh * a.Tq * a.D;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = rowA + 8 * r;
    if (row >= a.Tq) continue;
    bf* drow = dqOut + static_cast<int64_t>(row) * a.D;
#pragma unroll
    for (int d = 0; d < kDT; ++d) {
      const int col = d * 8 + 2 * t;
      const float v0 = dq[d][2 * r] * a.scale, v1 = dq[d][2 * r + 1] * a.scale;
      if (a.vec) {
        if (col < a.D) *reinterpret_cast<uint32_t*>(drow + col) = mma::packBf16(v0, v1);
      } else {
        if (col < a.D) drow[col] = __float2bfloat16_rn(v0);
        if (col + 1 < a.D) drow[col + 1] = __float2bfloat16_rn(v1);
      }
    }
  }
#else
  __trap();
#endif
}

template <int kD, int kWarps, int kBQ>
struct BwdDkDvShape {
  static constexpr int BKV = 16 * kWarps;  // keys per block (16 per warp)
  static constexpr int BQ = kBQ;           // queries per pipeline stage
  static constexpr int kThreads = 32 * kWarps;
  // sK, sV [BKV][kD]; sQ, sdO [2][BQ][kD] (bf16); sLse2, sDelta [2][BQ] (f32).
  static constexpr int kTileBytes = (2 * BKV + 4 * BQ) * kD * 2;
  static constexpr int kSmemBytes = kTileBytes + 4 * BQ * 4;
};

// dk = scale · dSᵀ · Q, dv = Pᵀ · dO for one tile of keys. Grid: (key tiles, H, B).
template <int kD, int kWarps, int kBQ>
__global__ void __launch_bounds__(32 * kWarps) flashBwdDkDvKernel(AttnArgs<__nv_bfloat16> a) {
#if GLM_TC_ARCH
  using S = BwdDkDvShape<kD, kWarps, kBQ>;
  using bf = __nv_bfloat16;
  constexpr int BQ = S::BQ, BKV = S::BKV, kThreads = S::kThreads, kDT = kD / 8;
  extern __shared__ __align__(128) unsigned char smemRaw[];
  bf* sK = reinterpret_cast<bf*>(smemRaw);
  bf* sV = sK + BKV * kD;
  bf* sQ = sV + BKV * kD;
  bf* sdO = sQ + 2 * BQ * kD;
  float* sLse2 = reinterpret_cast<float*>(smemRaw + S::kTileBytes);
  float* sDelta = sLse2 + 2 * BQ;

  const int b = blockIdx.z, h = blockIdx.y;
  const int64_t bh = static_cast<int64_t>(b) * a.H + h;
  const int j0 = blockIdx.x * BKV;
  const bf* Q = a.q + bh * a.Tq * a.D;
  const bf* dO = a.dO + bh * a.Tq * a.D;
  const bf* K = a.k + bh * a.Tk * a.D;
  const bf* V = a.v + bh * a.Tk * a.D;
  const float* lse = a.lse + bh * a.Tq;
  const float* deltaIn = a.delta + bh * a.Tq;
  const int offset = a.Tk - a.Tq;
  const int keyLen = keyLength(a, b);
  // Query tiles that can see any key of [j0, j0 + BKV): from the one holding the first query that
  // sees key j0 (visibility only grows with the query index) to the end.
  const int firstQ = firstQuerySeeing(a, keyLen, j0);
  const int qt0 = firstQ / BQ, nQt = (a.Tq + BQ - 1) / BQ;

  // Stages the query tile qt (Q, dO by cp.async; lse and delta by plain loads) into buffer `buf`.
  auto loadQueries = [&](int qt, int buf) {
    const int i0 = qt * BQ;
    loadRows<BQ, kD, kThreads>(sQ + buf * BQ * kD, Q, a.Tq, a.D, i0, a.vec);
    loadRows<BQ, kD, kThreads>(sdO + buf * BQ * kD, dO, a.Tq, a.D, i0, a.vec);
    for (int c = threadIdx.x; c < BQ; c += kThreads) {
      const int i = i0 + c;
      const float l = i < a.Tq ? lse[i] : -INFINITY;
      sLse2[buf * BQ + c] = l == -INFINITY ? INFINITY : l * kLog2e;  // +inf: P = 0 for this query
      sDelta[buf * BQ + c] = i < a.Tq ? deltaIn[i] : 0.0f;
    }
  };

  loadRows<BKV, kD, kThreads>(sK, K, a.Tk, a.D, j0, a.vec);
  loadRows<BKV, kD, kThreads>(sV, V, a.Tk, a.D, j0, a.vec);
  if (qt0 < nQt) loadQueries(qt0, 0);
  mma::cpAsyncCommit();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int keyA = j0 + warp * 16 + g;  // this lane's key rows: keyA (c[0..1]) and keyA + 8 (c[2..3])

  float dk[kDT][4], dv[kDT][4];
#pragma unroll
  for (int j = 0; j < kDT; ++j) {
    dk[j][0] = dk[j][1] = dk[j][2] = dk[j][3] = 0.0f;
    dv[j][0] = dv[j][1] = dv[j][2] = dv[j][3] = 0.0f;
  }

  for (int qt = qt0; qt < nQt; ++qt) {
    const int buf = (qt - qt0) & 1;
    if (qt + 1 < nQt) {
      loadQueries(qt + 1, buf ^ 1);
      mma::cpAsyncCommit();
      mma::cpAsyncWait<1>();
    } else {
      mma::cpAsyncWait<0>();
    }
    __syncthreads();
    const bf* sQt = sQ + buf * BQ * kD;
    const bf* sdOt = sdO + buf * BQ * kD;
    const float* lse2 = sLse2 + buf * BQ;
    const float* dlt = sDelta + buf * BQ;
    const int i0 = qt * BQ;

    // Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ: 16 keys x BQ queries per warp, queries as B rows.
    float st[BQ / 8][4], dpt[BQ / 8][4];
#pragma unroll
    for (int j = 0; j < BQ / 8; ++j) {
      st[j][0] = st[j][1] = st[j][2] = st[j][3] = 0.0f;
      dpt[j][0] = dpt[j][1] = dpt[j][2] = dpt[j][3] = 0.0f;
    }
#pragma unroll
    for (int kk = 0; kk < kD; kk += 16) {
      uint32_t ka[4], va[4];
      mma::ldmatrixX4(ka, addrA<kD>(sK, warp * 16, kk, lane));
      mma::ldmatrixX4(va, addrA<kD>(sV, warp * 16, kk, lane));
#pragma unroll
      for (int jj = 0; jj < BQ / 16; ++jj) {
        uint32_t qb[4], ob[4];
        mma::ldmatrixX4(qb, addrBRows<kD>(sQt, jj * 16, kk, lane));
        mma::ldmatrixX4(ob, addrBRows<kD>(sdOt, jj * 16, kk, lane));
        mma::mmaBf16(st[2 * jj], ka, qb[0], qb[1]);
        mma::mmaBf16(st[2 * jj + 1], ka, qb[2], qb[3]);
        mma::mmaBf16(dpt[2 * jj], va, ob[0], ob[1]);
        mma::mmaBf16(dpt[2 * jj + 1], va, ob[2], ob[3]);
      }
    }

    // Pᵀ (kept in st) and dSᵀ (kept in dpt). Element (e) of fragment j: key keyA + 8·(e >> 1),
    // query column c = 8j + 2t + (e & 1) of the tile. The tile needs no mask when every key of the
    // block is visible to its first query (which sees the fewest).
    const bool needMask = j0 + BKV > visibleKeys(a, keyLen, i0 + offset);
#pragma unroll
    for (int j = 0; j < BQ / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int c = j * 8 + 2 * t + (e & 1);
        float p = exp2f(st[j][e] * a.scaleLog2 - lse2[c]);
        if (needMask && keyA + 8 * (e >> 1) >= visibleKeys(a, keyLen, i0 + c + offset)) p = 0.0f;
        st[j][e] = p;
        dpt[j][e] = p * (dpt[j][e] - dlt[c]);
      }
    }

    // dV += Pᵀ·dO and dK += dSᵀ·Q: A fragments from the C fragments (k = queries), dO and Q read
    // with queries as k rows.
#pragma unroll
    for (int kk = 0; kk < BQ / 16; ++kk) {
      uint32_t pa[4], sa[4];
      pa[0] = mma::packBf16(st[2 * kk][0], st[2 * kk][1]);
      pa[1] = mma::packBf16(st[2 * kk][2], st[2 * kk][3]);
      pa[2] = mma::packBf16(st[2 * kk + 1][0], st[2 * kk + 1][1]);
      pa[3] = mma::packBf16(st[2 * kk + 1][2], st[2 * kk + 1][3]);
      sa[0] = mma::packBf16(dpt[2 * kk][0], dpt[2 * kk][1]);
      sa[1] = mma::packBf16(dpt[2 * kk][2], dpt[2 * kk][3]);
      sa[2] = mma::packBf16(dpt[2 * kk + 1][0], dpt[2 * kk + 1][1]);
      sa[3] = mma::packBf16(dpt[2 * kk + 1][2], dpt[2 * kk + 1][3]);
#pragma unroll
      for (int dd = 0; dd < kD / 16; ++dd) {
        uint32_t ob[4], qb[4];
        mma::ldmatrixX4Trans(ob, addrBCols<kD>(sdOt, kk * 16, dd * 16, lane));
        mma::mmaBf16(dv[2 * dd], pa, ob[0], ob[1]);
        mma::mmaBf16(dv[2 * dd + 1], pa, ob[2], ob[3]);
        mma::ldmatrixX4Trans(qb, addrBCols<kD>(sQt, kk * 16, dd * 16, lane));
        mma::mmaBf16(dk[2 * dd], sa, qb[0], qb[1]);
        mma::mmaBf16(dk[2 * dd + 1], sa, qb[2], qb[3]);
      }
    }
    __syncthreads();
  }
  mma::cpAsyncWait<0>();

  // Every key row of the tile is written, zeros where no query saw it (gradients are assigned).
  bf* dkOut = a.dk + bh * a.Tk * a.D;
  bf* dvOut = a.dv + bh * a.Tk * a.D;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = keyA + 8 * r;
    if (key >= a.Tk) continue;
    bf* krow = dkOut + static_cast<int64_t>(key) * a.D;
    bf* vrow = dvOut + static_cast<int64_t>(key) * a.D;
#pragma unroll
    for (int d = 0; d < kDT; ++d) {
      const int col = d * 8 + 2 * t;
      const float k0 = dk[d][2 * r] * a.scale, k1 = dk[d][2 * r + 1] * a.scale;
      const float v0 = dv[d][2 * r], v1 = dv[d][2 * r + 1];
      if (a.vec) {
        if (col < a.D) {
          *reinterpret_cast<uint32_t*>(krow + col) = mma::packBf16(k0, k1);
          *reinterpret_cast<uint32_t*>(vrow + col) = mma::packBf16(v0, v1);
        }
      } else {
        if (col < a.D) {
          krow[col] = __float2bfloat16_rn(k0);
          vrow[col] = __float2bfloat16_rn(v0);
        }
        if (col + 1 < a.D) {
          krow[col + 1] = __float2bfloat16_rn(k1);
          vrow[col + 1] = __float2bfloat16_rn(v1);
        }
      }
    }
  }
#else
  __trap();
#endif
}

}  // namespace glm::cuda::attn
