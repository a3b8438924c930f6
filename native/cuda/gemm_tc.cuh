// The tensor-core GEMM kernel: one block per BM x BN output tile (and batch item), a STAGES-deep
// cp.async pipeline of A and B k-slices through shared memory, warp-level mma.sync (bf16 m16n8k16,
// or tf32 m16n8k8 with optional 3xTF32 error compensation for f32), and the fused epilogue.
// Fragment layouts: see the top of mma_util.cuh; tile layouts: gemm_common.cuh (SmemLayout).
#pragma once
#include "gemm_common.cuh"

namespace glm::cuda::gemm {

// One stage of warp-level products for bf16: for each k16 step, ldmatrix the warp's A fragments
// (MT tiles of 16 rows) and B fragments (NT tiles of 8 columns, two per ldmatrix.x4), then MT x NT
// mma.m16n8k16. acc[i][j] is the C fragment of rows wm0 + 16i.., columns wn0 + 8j...
template <class Cfg, bool kTransA, bool kTransB>
struct WarpMmaBf16 {
  using E = __nv_bfloat16;
  static constexpr int MT = Cfg::MT, NT = Cfg::NT, BM = Cfg::BM, BN = Cfg::BN;
  static constexpr int kBK = SmemLayout<E>::kBK;

  __device__ __forceinline__ static void run(float (&acc)[MT][NT][4], const E* sA, const E* sB, int wm0, int wn0,
                                             int lane) {
#pragma unroll
    for (int kk = 0; kk < kBK; kk += 16) {
      uint32_t a[MT][4], b[NT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        if constexpr (!kTransA) {
          // sA is [BM][32] (k fastest). Matrices of the x4: lanes 0-7 rows 0-7 / k 0-7 (a[0]),
          // 8-15 rows 8-15 / k 0-7 (a[1]), 16-23 rows 0-7 / k 8-15 (a[2]), 24-31 rows 8-15 / k 8-15
          // (a[3]); non-transposed, lane gets A[g][2t..2t+1] of each: the A fragment.
          const int r = wm0 + i * 16 + (lane & 15);
          const int e = kk + (lane >> 4) * 8;
          mma::ldmatrixX4(a[i], mma::smemAddr(sA + mma::swizzledOffset<kBK / 8>(r, e)));
        } else {
          // sA is [32][BM] (m fastest). Each 8x8 matrix is 8 k-rows x 8 m-columns; .trans hands lane
          // the elements (k = 2t, 2t+1; m = g), i.e. A[m=g][k=2t..2t+1]. a[0]: k 0-7 / m 0-7,
          // a[1]: k 0-7 / m 8-15, a[2]: k 8-15 / m 0-7, a[3]: k 8-15 / m 8-15.
          const int kr = kk + (lane & 7) + (lane >> 4) * 8;
          const int e = wm0 + i * 16 + ((lane >> 3) & 1) * 8;
          mma::ldmatrixX4Trans(a[i], mma::smemAddr(sA + mma::swizzledOffset<BM / 8>(kr, e)));
        }
      }
#pragma unroll
      for (int jj = 0; jj < NT / 2; ++jj) {
        uint32_t r4[4];
        if constexpr (kTransB) {
          // sB is [BN][32] (k fastest): row n, non-transposed lane gets sB[n=g][k=2t..] = B[k][n=g].
          // Matrices: n 0-7 / k 0-7 (b[2jj][0]), n 0-7 / k 8-15 (b[2jj][1]), n 8-15 / k 0-7
          // (b[2jj+1][0]), n 8-15 / k 8-15 (b[2jj+1][1]).
          const int n = wn0 + jj * 16 + (lane >> 4) * 8 + (lane & 7);
          const int e = kk + ((lane >> 3) & 1) * 8;
          mma::ldmatrixX4(r4, mma::smemAddr(sB + mma::swizzledOffset<kBK / 8>(n, e)));
        } else {
          // sB is [32][BN] (n fastest): rows are k; .trans hands lane B[k=2t..2t+1][n=g]. Matrices:
          // k 0-7 / n 0-7, k 8-15 / n 0-7, k 0-7 / n 8-15, k 8-15 / n 8-15 (same order as above).
          const int kr = kk + (lane & 7) + ((lane >> 3) & 1) * 8;
          const int e = wn0 + jj * 16 + (lane >> 4) * 8;
          mma::ldmatrixX4Trans(r4, mma::smemAddr(sB + mma::swizzledOffset<BN / 8>(kr, e)));
        }
        b[2 * jj][0] = r4[0];
        b[2 * jj][1] = r4[1];
        b[2 * jj + 1][0] = r4[2];
        b[2 * jj + 1][1] = r4[3];
      }
#pragma unroll
      for (int i = 0; i < MT; ++i) {
#pragma unroll
        for (int j = 0; j < NT; ++j) mma::mmaBf16(acc[i][j], a[i], b[j][0], b[j][1]);
      }
    }
  }
};

// One stage of warp-level products for f32 on TF32 tensor cores: fragments read with scalar loads
// from the padded tiles (conflict-free, see SmemLayout<float>), rounded to tf32. kSplit: each value
// x = big + small (both tf32) and acc += small_a·big_b + big_a·small_b + big_a·big_b, which recovers
// ~f32 accuracy (the dropped small·small term is ~2^-22 relative); otherwise one plain tf32 product.
template <class Cfg, bool kTransA, bool kTransB, bool kSplit>
struct WarpMmaTf32 {
  static constexpr int MT = Cfg::MT, NT = Cfg::NT, BM = Cfg::BM, BN = Cfg::BN;
  using L = SmemLayout<float>;

  __device__ __forceinline__ static float ldA(const float* sA, int m, int k) {
    return kTransA ? sA[k * L::pitchMN<BM>() + m] : sA[m * L::kPitchK + k];
  }
  __device__ __forceinline__ static float ldB(const float* sB, int k, int n) {
    return kTransB ? sB[n * L::kPitchK + k] : sB[k * L::pitchMN<BN>() + n];
  }

  __device__ __forceinline__ static void run(float (&acc)[MT][NT][4], const float* sA, const float* sB, int wm0,
                                             int wn0, int lane) {
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int kk = 0; kk < L::kBK; kk += 8) {
      uint32_t aBig[MT][4], aSmall[MT][4];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const int m = wm0 + i * 16 + g;
        // tf32 A fragment: a[0] = A[g][t], a[1] = A[g+8][t], a[2] = A[g][t+4], a[3] = A[g+8][t+4].
        const float x[4] = {ldA(sA, m, kk + t), ldA(sA, m + 8, kk + t), ldA(sA, m, kk + t + 4),
                            ldA(sA, m + 8, kk + t + 4)};
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          if constexpr (kSplit) {
            mma::splitTf32(x[q], aBig[i][q], aSmall[i][q]);
          } else {
            aBig[i][q] = mma::toTf32(x[q]);
          }
        }
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int n = wn0 + j * 8 + g;
        // tf32 B fragment: b[0] = B[t][g], b[1] = B[t+4][g].
        const float y0 = ldB(sB, kk + t, n), y1 = ldB(sB, kk + t + 4, n);
        uint32_t bBig0, bBig1, bSmall0 = 0, bSmall1 = 0;
        if constexpr (kSplit) {
          mma::splitTf32(y0, bBig0, bSmall0);
          mma::splitTf32(y1, bBig1, bSmall1);
        } else {
          bBig0 = mma::toTf32(y0);
          bBig1 = mma::toTf32(y1);
        }
#pragma unroll
        for (int i = 0; i < MT; ++i) {
          if constexpr (kSplit) {
            mma::mmaTf32(acc[i][j], aSmall[i], bBig0, bBig1);
            mma::mmaTf32(acc[i][j], aBig[i], bSmall0, bSmall1);
          }
          mma::mmaTf32(acc[i][j], aBig[i], bBig0, bBig1);
        }
      }
    }
  }
};

template <class Cfg, typename E, bool kTransA, bool kTransB, bool kSplit>
struct GemmTc {
  using L = SmemLayout<E>;
  static constexpr int BM = Cfg::BM, BN = Cfg::BN, STAGES = Cfg::STAGES, kBK = L::kBK;
  // A tile is K-contiguous unless A is stored transposed; B tile is K-contiguous when B is stored (N, K).
  static constexpr int kSizeA = kTransA ? L::template sizeMN<BM>() : L::template sizeK<BM>();
  static constexpr int kSizeB = kTransB ? L::template sizeK<BN>() : L::template sizeMN<BN>();
  static constexpr int kStage = kSizeA + kSizeB;  // elements; multiples of 64 elements keep 128 B alignment
  static constexpr int kPitchC = BN + 8;  // f32 epilogue staging tile [BM][BN + 8]
  static constexpr int kPipeBytes = STAGES * kStage * static_cast<int>(sizeof(E));
  static constexpr int kEpilogueBytes = BM * kPitchC * 4;
  static constexpr int kSmemBytes = kPipeBytes > kEpilogueBytes ? kPipeBytes : kEpilogueBytes;
  static_assert((kSizeA * sizeof(E)) % 128 == 0 && (kSizeB * sizeof(E)) % 128 == 0,
                "tiles must start on 128-byte boundaries for the swizzle to be conflict-free");
};

// C[z] = epilogue(alpha · op(A[z]) · op(B[z]) + beta · C[z] + bias). grid.x: output tiles (grouped
// order), grid.z: batch items (strided when batch > gridDim.z). Dynamic shared memory:
// GemmTc<...>::kSmemBytes.
// kGuarded: the operands' vecA / vecB flags are honoured (guarded element loads where false);
// otherwise both operands stream with cp.async unconditionally, and the kernel carries no code (and
// no register cost) for the guarded path.
template <class Cfg, typename E, bool kTransA, bool kTransB, bool kSplit, bool kGuarded>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks) gemmTcKernel(GemmArgs<E> a) {
#if GLM_TC_ARCH
  using G = GemmTc<Cfg, E, kTransA, kTransB, kSplit>;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, STAGES = Cfg::STAGES, kBK = G::kBK;
  constexpr int MT = Cfg::MT, NT = Cfg::NT;
  extern __shared__ __align__(128) unsigned char smemRaw[];
  E* smem = reinterpret_cast<E*>(smemRaw);

  const int tilesM = (a.M + BM - 1) / BM, tilesN = (a.N + BN - 1) / BN;
  int tm, tn;
  tileCoords(blockIdx.x, tilesM, tilesN, tm, tn);
  const int m0 = tm * BM, n0 = tn * BN;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int wm0 = (warp / Cfg::WARPS_N) * Cfg::WM, wn0 = (warp % Cfg::WARPS_N) * Cfg::WN;
  const int kTiles = (a.K + kBK - 1) / kBK;

  for (int z = blockIdx.z; z < a.batch; z += gridDim.z) {
    const E* A = a.A + z * a.strideA;
    const E* B = a.B + z * a.strideB;
    auto loadStage = [&](int stage, int kt) {
      E* sA = smem + stage * G::kStage;
      E* sB = sA + G::kSizeA;
      loadTile<E, BM, !kTransA, Cfg::kThreads>(sA, A, a.lda, a.M, a.K, m0, kt * kBK, !kGuarded || a.vecA);
      loadTile<E, BN, kTransB, Cfg::kThreads>(sB, B, a.ldb, a.N, a.K, n0, kt * kBK, !kGuarded || a.vecB);
    };

    float acc[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.0f;

    // Prologue: k-tiles 0..STAGES-2 in flight, one commit group each (empty groups keep the count).
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
      if (s < kTiles) loadStage(s, s);
      mma::cpAsyncCommit();
    }
    for (int kt = 0; kt < kTiles; ++kt) {
      // Groups committed so far: STAGES-1 + kt; allowing STAGES-2 pending means tile kt has landed
      // (for this thread); the barrier makes every thread's copies (and guarded st.shared) visible
      // and guarantees that all warps finished computing tile kt-1, whose stage is refilled next.
      mma::cpAsyncWait<STAGES - 2>();
      __syncthreads();
      const int next = kt + STAGES - 1;
      if (next < kTiles) loadStage(next % STAGES, next);
      mma::cpAsyncCommit();
      const E* sA = smem + (kt % STAGES) * G::kStage;
      const E* sB = sA + G::kSizeA;
      if constexpr (std::is_same_v<E, float>) {
        WarpMmaTf32<Cfg, kTransA, kTransB, kSplit>::run(acc, sA, sB, wm0, wn0, lane);
      } else {
        WarpMmaBf16<Cfg, kTransA, kTransB>::run(acc, sA, sB, wm0, wn0, lane);
      }
    }
    // Drain (only empty groups can remain) and let every warp finish reading shared memory before
    // the next batch item's prologue overwrites it.
    mma::cpAsyncWait<0>();
    __syncthreads();

    // Epilogue through shared memory (the pipeline buffers are free now): the C fragments (lane
    // holds rows g and g+8, columns 2t and 2t+1 of every 16x8 tile) go to an f32 tile of pitch
    // BN + 8, where each float2 write of a warp is conflict-free (bank 8g + 2t + {0,1} within a
    // half-warp phase); then each thread finishes 4 consecutive columns of a row, so global reads
    // of C and writes of C and preact are coalesced vector accesses.
    {
      constexpr int kPitch = G::kPitchC;
      float* sC = reinterpret_cast<float*>(smemRaw);
      const int g = lane >> 2, t = lane & 3;
#pragma unroll
      for (int i = 0; i < MT; ++i) {
#pragma unroll
        for (int j = 0; j < NT; ++j) {
          const int row = wm0 + i * 16 + g, col = wn0 + j * 8 + 2 * t;
          *reinterpret_cast<float2*>(&sC[row * kPitch + col]) = make_float2(acc[i][j][0], acc[i][j][1]);
          *reinterpret_cast<float2*>(&sC[(row + 8) * kPitch + col]) = make_float2(acc[i][j][2], acc[i][j][3]);
        }
      }
      __syncthreads();
      constexpr int kQuadsPerRow = BN / 4, kRowsPerPass = Cfg::kThreads / kQuadsPerRow;
      static_assert(Cfg::kThreads % kQuadsPerRow == 0 && BM % kRowsPerPass == 0, "epilogue thread mapping");
      const int c = (threadIdx.x % kQuadsPerRow) * 4;
#pragma unroll 1
      for (int r = threadIdx.x / kQuadsPerRow; r < BM; r += kRowsPerPass) {
        const float4 q = *reinterpret_cast<const float4*>(&sC[r * kPitch + c]);
        const float v[4] = {q.x, q.y, q.z, q.w};
        storeQuad(a, z, m0 + r, n0 + c, v);
      }
      __syncthreads();  // sC is the next batch item's pipeline buffer
    }
  }
#else
  __trap();
#endif
}

}  // namespace glm::cuda::gemm
