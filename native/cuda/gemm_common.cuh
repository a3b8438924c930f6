// Pieces shared by the CUDA GEMM kernels (native/cuda/matmul.cu): the kernel arguments, tile
// configurations, the shared-memory layouts of operand tiles, the global -> shared tile loader
// (cp.async or guarded element loads), the fused epilogue, and the simple one-thread-per-output
// kernel used for tiny shapes and pre-sm_80 GPUs. See docs/kernels-cuda.md for the design.
#pragma once
#include <type_traits>

#include "mma_util.cuh"

namespace glm::cuda::gemm {

// Everything a GEMM kernel needs, by value. Element strides; batch strides of 0 broadcast.
template <typename E>
struct GemmArgs {
  E* C;
  E* preact;       // optional (may be null): the pre-GELU value
  const E* A;
  const E* B;
  const E* bias;   // optional (N)
  int M, N, K, batch;
  int64_t lda, ldb, ldc;  // row pitch of A as stored ((M,K) or (K,M)), of B, of C and preact
  int64_t strideA, strideB, strideC, stridePre;
  float alpha, beta;
  bool gelu;
  bool vecA, vecB;  // every 16-byte chunk of the operand's contiguous rows is aligned: cp.async path
  bool quadC;       // C and preact take 4-element vector accesses (pitch % 4 == 0, aligned bases)
};

// A block tile of BM x BN outputs computed by WARPS_M x WARPS_N warps, each owning a
// (BM/WARPS_M) x (BN/WARPS_N) warp tile made of MT x NT mma tiles of 16 x 8, with a STAGES-deep
// cp.async pipeline over k. kMinBlocks feeds __launch_bounds__ (blocks per SM the register budget
// must allow).
template <int BM_, int BN_, int WARPS_M_, int WARPS_N_, int STAGES_, int kMinBlocks_>
struct TileConfig {
  static constexpr int BM = BM_, BN = BN_, WARPS_M = WARPS_M_, WARPS_N = WARPS_N_, STAGES = STAGES_;
  static constexpr int kMinBlocks = kMinBlocks_;
  static constexpr int kThreads = 32 * WARPS_M * WARPS_N;
  static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;
  static constexpr int MT = WM / 16, NT = WN / 8;
  static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tiles are made of 16x16 pieces");
};

// Shared-memory layout of one operand tile per element type. An operand tile covers R rows of the
// M (or N) dimension and the stage's kBK values of k, stored either K-contiguous ([R][kBK], when
// the operand is stored with k fastest) or MN-contiguous ([kBK][R]), matching global memory so
// that 16-byte chunks copy straight across; transposes are absorbed by the fragment loads.
template <typename E>
struct SmemLayout;

// bf16: kBK = 32 (64-byte K rows, 4 chunks) swizzled for ldmatrix (mma_util.cuh: swizzleChunk).
template <>
struct SmemLayout<__nv_bfloat16> {
  static constexpr int kBK = 32;
  static constexpr int kChunk = 8;  // elements per 16-byte chunk
  template <int R> static constexpr int sizeK() { return R * kBK; }
  template <int R> static constexpr int sizeMN() { return kBK * R; }
  template <int R> __device__ static int offK(int r, int kc) { return mma::swizzledOffset<kBK / 8>(r, kc * 8); }
  template <int R> __device__ static int offMN(int kr, int rc) { return mma::swizzledOffset<R / 8>(kr, rc * 8); }
};

// f32 (tf32 mma): kBK = 16 (64-byte K rows). Fragments are read with scalar 4-byte loads, made
// bank-conflict-free by padding instead of swizzling:
//   [R][16] with pitch 20: a quad-strided read (row g, col t) hits bank (20g + t) % 32, distinct for
//     g < 8, t < 4;
//   [16][R] with pitch R + 8 (R = 64 or 128, so pitch % 32 == 8): (row t, col g) hits (8t + g) % 32.
// Both pitches keep every 16-byte chunk aligned for cp.async (80 B and 4(R+8) B rows).
template <>
struct SmemLayout<float> {
  static constexpr int kBK = 16;
  static constexpr int kChunk = 4;
  static constexpr int kPitchK = 20;
  template <int R> static constexpr int pitchMN() { return R + 8; }
  template <int R> static constexpr int sizeK() { return R * kPitchK; }
  template <int R> static constexpr int sizeMN() { return kBK * pitchMN<R>(); }
  template <int R> __device__ static int offK(int r, int kc) { return r * kPitchK + kc * 4; }
  template <int R> __device__ static int offMN(int kr, int rc) { return kr * pitchMN<R>() + rc * 4; }
};

// Raw bit type of an element, for the guarded copies (bit-exact, no conversion).
template <typename E>
using RawOf = std::conditional_t<sizeof(E) == 2, uint16_t, uint32_t>;

// Copies the [r0, r0+R) x [k0, k0+kBK) slice of an operand into its shared tile `s`.
// kKMajor: element (r, k) is g[r*ld + k]; otherwise g[k*ld + r]. `rows` is the operand's extent
// along r (M or N). Out-of-range elements are written as zeros, so the mma needs no masking.
// vec: cp.async 16-byte chunks (the caller guarantees 16-byte alignment of every chunk start and
// that the contiguous extent is a multiple of the chunk, so a chunk is wholly in or out of range);
// otherwise each element is loaded with its own bounds check and the chunk stored with one st.shared
// (one chunk at a time, to keep the register footprint of this rare path small).
template <typename E, int R, bool kKMajor, int kThreads>
__device__ __forceinline__ void loadTile(E* s, const E* g, int64_t ld, int rows, int K, int r0, int k0, bool vec) {
  using L = SmemLayout<E>;
  constexpr int CE = L::kChunk;
  constexpr int kPerRow = kKMajor ? L::kBK / CE : R / CE;  // chunks per smem row
  constexpr int kTotal = (kKMajor ? R : L::kBK) * kPerRow;
  static_assert(kTotal % kThreads == 0, "tile chunks must divide evenly among the threads");
  // Chunk c: smem row `outer`, chunk `inner` of it; (r, k) of its first element.
  auto chunk = [&](int i, int& r, int& k, int& off) {
    const int c = threadIdx.x + i * kThreads;
    const int outer = c / kPerRow, inner = c % kPerRow;
    if constexpr (kKMajor) {
      r = r0 + outer;
      k = k0 + inner * CE;
      off = L::template offK<R>(outer, inner);
    } else {
      k = k0 + outer;
      r = r0 + inner * CE;
      off = L::template offMN<R>(outer, inner);
    }
  };
  if (vec) {
#pragma unroll
    for (int i = 0; i < kTotal / kThreads; ++i) {
      int r, k, off;
      chunk(i, r, k, off);
      const bool ok = r < rows && k < K;
      const E* src = ok ? g + (kKMajor ? r * ld + k : k * ld + r) : g;
      mma::cpAsync16(mma::smemAddr(s + off), src, ok);
    }
  } else {
    using Raw = RawOf<E>;
    const Raw* gr = reinterpret_cast<const Raw*>(g);
#pragma unroll 1
    for (int i = 0; i < kTotal / kThreads; ++i) {
      int r, k, off;
      chunk(i, r, k, off);
      union {
        uint4 v;
        Raw e[CE];
      } u;
#pragma unroll
      for (int e = 0; e < CE; ++e) {
        const int rr = kKMajor ? r : r + e, kk = kKMajor ? k + e : k;
        u.e[e] = (rr < rows && kk < K) ? gr[kKMajor ? rr * ld + kk : kk * ld + rr] : Raw(0);
      }
      *reinterpret_cast<uint4*>(s + off) = u.v;
    }
  }
}

__device__ __forceinline__ float geluTanh(float x) {
  const float kSqrt2OverPi = 0.7978845608028654f, kCoef = 0.044715f;
  return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + kCoef * x * x * x)));
}

// The epilogue value of one output: alpha·acc + beta·C + bias[col], stored to preact, then GELU.
// C is read only when beta != 0 (it may hold poison or garbage otherwise).
template <typename E>
__device__ __forceinline__ float epilogueValue(const GemmArgs<E>& a, float acc, float cOld, int col) {
  float v = a.alpha * acc;
  if (a.beta != 0.0f) v += a.beta * cOld;
  if (a.bias) v += mma::toF(a.bias[col]);
  return v;
}

// Four consecutive elements of a row as one vector access (16 bytes of f32, 8 bytes of bf16).
template <typename E>
struct Quad;
template <>
struct Quad<float> {
  __device__ static void load(const float* p, float (&v)[4]) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
  }
  __device__ static void store(float* p, const float (&v)[4]) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  }
};
template <>
struct Quad<__nv_bfloat16> {
  __device__ static void load(const __nv_bfloat16* p, float (&v)[4]) {
    const uint2 q = *reinterpret_cast<const uint2*>(p);
    const __nv_bfloat162 lo = *reinterpret_cast<const __nv_bfloat162*>(&q.x);
    const __nv_bfloat162 hi = *reinterpret_cast<const __nv_bfloat162*>(&q.y);
    v[0] = __low2float(lo), v[1] = __high2float(lo), v[2] = __low2float(hi), v[3] = __high2float(hi);
  }
  __device__ static void store(__nv_bfloat16* p, const float (&v)[4]) {
    uint2 q;
    q.x = mma::packBf16(v[0], v[1]);
    q.y = mma::packBf16(v[2], v[3]);
    *reinterpret_cast<uint2*>(p) = q;
  }
};

// Writes the four outputs (row, col..col+3) of batch item z from their f32 accumulators.
template <typename E>
__device__ __forceinline__ void storeQuad(const GemmArgs<E>& a, int z, int row, int col, const float (&acc)[4]) {
  if (row >= a.M || col >= a.N) return;
  const int64_t idx = row * a.ldc + col;
  E* C = a.C + z * a.strideC;
  E* P = a.preact ? a.preact + z * a.stridePre : nullptr;
  if (a.quadC && col + 3 < a.N) {
    float old[4] = {0.0f, 0.0f, 0.0f, 0.0f}, v[4];
    if (a.beta != 0.0f) Quad<E>::load(C + idx, old);
#pragma unroll
    for (int e = 0; e < 4; ++e) v[e] = epilogueValue(a, acc[e], old[e], col + e);
    if (P) Quad<E>::store(P + idx, v);
    if (a.gelu) {
#pragma unroll
      for (int e = 0; e < 4; ++e) v[e] = geluTanh(v[e]);
    }
    Quad<E>::store(C + idx, v);
  } else {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      if (col + e >= a.N) break;
      const float cOld = a.beta != 0.0f ? mma::toF(C[idx + e]) : 0.0f;
      float v = epilogueValue(a, acc[e], cOld, col + e);
      if (P) P[idx + e] = mma::fromF<E>(v);
      if (a.gelu) v = geluTanh(v);
      C[idx + e] = mma::fromF<E>(v);
    }
  }
}

// Maps a linear block index to a (tile row, tile column), walking the tiles in groups of 8 tile
// rows so that blocks running at the same time share A row panels and B column panels in L2.
__device__ __forceinline__ void tileCoords(int bid, int tilesM, int tilesN, int& tm, int& tn) {
  constexpr int kGroup = 8;
  const int perGroup = kGroup * tilesN;
  const int group = bid / perGroup;
  const int firstM = group * kGroup;
  const int groupM = min(tilesM - firstM, kGroup);
  const int inGroup = bid % perGroup;
  tm = firstM + inGroup % groupM;
  tn = inGroup / groupM;
}

// The obviously-correct kernel: one thread per output, f32 accumulation in k order. Used for tiny
// products (launch-bound anyway) and GPUs without bf16 tensor cores. Block 16 x 16 threads.
template <typename E>
__global__ void __launch_bounds__(256) gemmSimpleKernel(GemmArgs<E> a, bool transA, bool transB) {
  const int n = blockIdx.x * 16 + threadIdx.x;
  if (n >= a.N) return;
  for (int z = blockIdx.z; z < a.batch; z += gridDim.z) {
    const E* A = a.A + z * a.strideA;
    const E* B = a.B + z * a.strideB;
    for (int m = blockIdx.y * 16 + threadIdx.y; m < a.M; m += gridDim.y * 16) {
      float s = 0.0f;
      for (int k = 0; k < a.K; ++k) {
        const float x = mma::toF(transA ? A[k * a.lda + m] : A[m * a.lda + k]);
        const float y = mma::toF(transB ? B[n * a.ldb + k] : B[k * a.ldb + n]);
        s = fmaf(x, y, s);
      }
      const int64_t idx = m * a.ldc + n;
      E* C = a.C + z * a.strideC;
      const float cOld = a.beta != 0.0f ? mma::toF(C[idx]) : 0.0f;
      float v = epilogueValue(a, s, cOld, n);
      if (a.preact) a.preact[z * a.stridePre + idx] = mma::fromF<E>(v);
      if (a.gelu) v = geluTanh(v);
      C[idx] = mma::fromF<E>(v);
    }
  }
}

}  // namespace glm::cuda::gemm
