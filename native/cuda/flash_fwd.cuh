// Flash attention forward for bf16 on tensor cores (FlashAttention-2 structure): one block per
// (query tile of 16·kWarps rows, head, batch item); each warp owns 16 query rows. K and V tiles of
// 64 keys stream through a double-buffered cp.async pipeline; S = Q·Kᵀ and O += P·V run on
// mma.m16n8k16 (bf16 in, f32 accumulate); the softmax is online, in registers, in base-2 units.
// kD (32, 64 or 128) is the padded head dimension; D <= kD is the real one (zero padding).
#pragma once
#include "flash_common.cuh"

namespace glm::cuda::attn {

template <int kD, int kWarps>
struct FwdShape {
  static constexpr int BQ = 16 * kWarps;  // query rows per block
  static constexpr int BKV = 64;          // keys per pipeline stage
  static constexpr int kThreads = 32 * kWarps;
  // sQ [BQ][kD], sK [2][BKV][kD], sV [2][BKV][kD], all bf16, swizzled.
  static constexpr int kSmemBytes = (BQ + 4 * BKV) * kD * 2;
};

// out, lseOut = attention(q, k, v). Grid: (query tiles, H, B); query tiles are walked last-first so
// that, under a causal mask, the blocks with the most keys start first.
template <int kD, int kWarps>
__global__ void __launch_bounds__(32 * kWarps) flashForwardKernel(AttnArgs<__nv_bfloat16> a) {
#if GLM_TC_ARCH
  using S = FwdShape<kD, kWarps>;
  using bf = __nv_bfloat16;
  constexpr int BQ = S::BQ, BKV = S::BKV, kThreads = S::kThreads, kDT = kD / 8;  // kDT: d tiles of 8
  extern __shared__ __align__(128) unsigned char smemRaw[];
  bf* sQ = reinterpret_cast<bf*>(smemRaw);
  bf* sK = sQ + BQ * kD;
  bf* sV = sK + 2 * BKV * kD;

  const int b = blockIdx.z, h = blockIdx.y;
  const int64_t bh = static_cast<int64_t>(b) * a.H + h;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
  const bf* Q = a.q + bh * a.Tq * a.D;
  const bf* K = a.k + bh * a.Tk * a.D;
  const bf* V = a.v + bh * a.Tk * a.D;
  const int offset = a.Tk - a.Tq;  // query i sits at absolute position i + offset
  const int keyLen = keyLength(a, b);
  const int lastRow = min(q0 + BQ, a.Tq) - 1;
  const int kvEnd = visibleKeys(a, keyLen, lastRow + offset);  // keys any row of the tile sees
  const int minVis = visibleKeys(a, keyLen, q0 + offset);      // keys every row of the tile sees
  const int nTiles = (kvEnd + BKV - 1) / BKV;

  // Commit groups: {Q}, {K0, V0}, then one per prefetched K/V tile.
  loadRows<BQ, kD, kThreads>(sQ, Q, a.Tq, a.D, q0, a.vec);
  mma::cpAsyncCommit();
  if (nTiles > 0) {
    loadRows<BKV, kD, kThreads>(sK, K, a.Tk, a.D, 0, a.vec);
    loadRows<BKV, kD, kThreads>(sV, V, a.Tk, a.D, 0, a.vec);
  }
  mma::cpAsyncCommit();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  // This lane's two query rows: [0] = row g of the warp's 16, [1] = row g + 8.
  const int rowA = q0 + warp * 16 + g;
  const int nVis[2] = {visibleKeys(a, keyLen, rowA + offset), visibleKeys(a, keyLen, rowA + 8 + offset)};

  float o[kDT][4];  // C fragments of O (16 x kD per warp)
#pragma unroll
  for (int j = 0; j < kDT; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY};  // running max of the row's scores (base-2 units)
  float l[2] = {0.0f, 0.0f};            // this lane's part of the running sum (quad-reduced at the end)

  for (int it = 0; it < nTiles; ++it) {
    const int stage = it & 1;
    if (it + 1 < nTiles) {
      loadRows<BKV, kD, kThreads>(sK + (stage ^ 1) * BKV * kD, K, a.Tk, a.D, (it + 1) * BKV, a.vec);
      loadRows<BKV, kD, kThreads>(sV + (stage ^ 1) * BKV * kD, V, a.Tk, a.D, (it + 1) * BKV, a.vec);
      mma::cpAsyncCommit();
      mma::cpAsyncWait<1>();  // everything but the tile just issued has landed
    } else {
      mma::cpAsyncWait<0>();
    }
    __syncthreads();
    const bf* sKt = sK + stage * BKV * kD;
    const bf* sVt = sV + stage * BKV * kD;

    // S = Q·Kᵀ for the warp's 16 rows x 64 keys: s[j] is the C fragment of keys 8j..8j+7.
    float s[BKV / 8][4];
#pragma unroll
    for (int j = 0; j < BKV / 8; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kD; kk += 16) {
      uint32_t qa[4];
      mma::ldmatrixX4(qa, addrA<kD>(sQ, warp * 16, kk, lane));
#pragma unroll
      for (int jj = 0; jj < BKV / 16; ++jj) {
        uint32_t kb[4];
        mma::ldmatrixX4(kb, addrBRows<kD>(sKt, jj * 16, kk, lane));
        mma::mmaBf16(s[2 * jj], qa, kb[0], kb[1]);
        mma::mmaBf16(s[2 * jj + 1], qa, kb[2], kb[3]);
      }
    }

    // Scale to base-2 units, then mask (c[0..1] belong to row g, c[2..3] to row g + 8; columns 2t,
    // 2t + 1). Tiles wholly inside every row's visible prefix skip the mask.
    const int j0 = it * BKV;
    const bool needMask = j0 + BKV > minVis;
#pragma unroll
    for (int j = 0; j < BKV / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[j][e] * a.scaleLog2;
        if (needMask && j0 + j * 8 + 2 * t + (e & 1) >= nVis[e >> 1]) x = -INFINITY;
        s[j][e] = x;
      }
    }

    // Online softmax per row: new max over the quad (the 4 lanes sharing a row), rescale the old
    // sum and O by 2^(m_old - m_new), p = 2^(x - m_new). A row with no visible key so far keeps
    // m = -inf; mBase = 0 then avoids (-inf) - (-inf).
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < BKV / 8; ++j) mx = fmaxf(mx, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
      mx = mma::warpMax4(mx);
      const float mNew = fmaxf(m[r], mx);
      const float mBase = mNew == -INFINITY ? 0.0f : mNew;
      const float corr = exp2f(m[r] - mBase);
      m[r] = mNew;
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < BKV / 8; ++j) {
        s[j][2 * r] = exp2f(s[j][2 * r] - mBase);
        s[j][2 * r + 1] = exp2f(s[j][2 * r + 1] - mBase);
        sum += s[j][2 * r] + s[j][2 * r + 1];
      }
      l[r] = l[r] * corr + sum;
#pragma unroll
      for (int d = 0; d < kDT; ++d) {
        o[d][2 * r] *= corr;
        o[d][2 * r + 1] *= corr;
      }
    }

    // O += P·V: the C fragments of key tiles 2kk, 2kk+1 are the A fragment of P's k16 slice kk.
#pragma unroll
    for (int kk = 0; kk < BKV / 16; ++kk) {
      uint32_t pa[4];
      pa[0] = mma::packBf16(s[2 * kk][0], s[2 * kk][1]);
      pa[1] = mma::packBf16(s[2 * kk][2], s[2 * kk][3]);
      pa[2] = mma::packBf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pa[3] = mma::packBf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int dd = 0; dd < kD / 16; ++dd) {
        uint32_t vb[4];
        mma::ldmatrixX4Trans(vb, addrBCols<kD>(sVt, kk * 16, dd * 16, lane));
        mma::mmaBf16(o[2 * dd], pa, vb[0], vb[1]);
        mma::mmaBf16(o[2 * dd + 1], pa, vb[2], vb[3]);
      }
    }
    __syncthreads();  // the next iteration refills this stage
  }
  mma::cpAsyncWait<0>();  // nothing may stay in flight at exit (Q when no tile was visible)

  // out = O / l; lse = ln(sum exp(scale·s)) = (m + log2 l) · ln 2. A row that saw no key: 0, -inf.
  bf* out = a.out + bh * a.Tq * a.D;
  float* lseOut = a.lseOut + bh * a.Tq;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const float sum = mma::warpSum4(l[r]);
    const int row = rowA + 8 * r;
    if (row >= a.Tq) continue;
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    bf* orow = out + static_cast<int64_t>(row) * a.D;
#pragma unroll
    for (int d = 0; d < kDT; ++d) {
      const int col = d * 8 + 2 * t;
      const float v0 = o[d][2 * r] * inv, v1 = o[d][2 * r + 1] * inv;
      if (a.vec) {  // D % 8 == 0 and aligned rows: a 4-byte pair store
        if (col < a.D) *reinterpret_cast<uint32_t*>(orow + col) = mma::packBf16(v0, v1);
      } else {
        if (col < a.D) orow[col] = __float2bfloat16_rn(v0);
        if (col + 1 < a.D) orow[col + 1] = __float2bfloat16_rn(v1);
      }
    }
    if (t == 0) lseOut[row] = sum > 0.0f ? (m[r] + log2f(sum)) * kLn2 : -INFINITY;
  }
#else
  __trap();
#endif
}

}  // namespace glm::cuda::attn
