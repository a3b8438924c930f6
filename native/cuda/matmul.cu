// CUDA GEMM launchers (contract: native/cuda/matmul.h). Picks, per call, the simple kernel (tiny
// products, GPUs older than sm_80) or the tensor-core kernel (gemm_tc.cuh) with a 128x128 or 64x64
// block tile, and whether each operand can stream with 16-byte cp.async or needs guarded loads.
//
// f32 runs on TF32 tensor cores with 3xTF32 error compensation by default (about f32 accuracy, the
// same tolerance as the CPU path); GLM_CUDA_TF32=1 selects single-pass TF32 (faster, ~1e-3 relative
// error, like PyTorch's allow_tf32). GLM_CUDA_GEMM=simple|small|large forces a kernel (for tests and
// benchmarks; the default picks by size).
#include <cstdlib>
#include <cstring>

#include "../cpu/matmul.h"
#include "gemm_tc.cuh"
#include "matmul.h"

namespace glm::cuda {
namespace {

using namespace kernel_util;

using namespace gemm;

// bf16: 4 stages of 16 KB (128x128) / 8 KB (64x64); registers allow 2 / 4 blocks per SM.
using LargeBf16 = TileConfig<128, 128, 2, 4, 4, 2>;
using SmallBf16 = TileConfig<64, 64, 2, 2, 4, 4>;
// f32: the split fragments double the fragment registers, so fewer blocks per SM are promised.
using LargeF32 = TileConfig<128, 128, 2, 4, 3, 1>;
using SmallF32 = TileConfig<64, 64, 2, 2, 4, 2>;

enum class Choice { Auto, Simple, Small, Large };

Choice forcedChoice() {
  static const Choice c = [] {
    const char* s = std::getenv("GLM_CUDA_GEMM");
    if (!s) return Choice::Auto;
    if (!std::strcmp(s, "simple")) return Choice::Simple;
    if (!std::strcmp(s, "small")) return Choice::Small;
    if (!std::strcmp(s, "large")) return Choice::Large;
    return Choice::Auto;
  }();
  return c;
}

bool splitTf32() {
  static const bool split = [] {
    const char* s = std::getenv("GLM_CUDA_TF32");
    return !(s && !std::strcmp(s, "1"));
  }();
  return split;
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Whether an operand can be copied in 16-byte chunks: its base is 16-byte aligned and every row
// start and batch offset keeps that alignment, and the contiguous extent is a whole number of chunks
// (so a chunk is either wholly inside the matrix or wholly outside).
template <typename E>
bool vecOperand(const E* p, int64_t contiguousExtent, int64_t ld, int64_t batchStride) {
  constexpr int64_t kChunk = 16 / sizeof(E);
  return aligned(p, 16) && contiguousExtent % kChunk == 0 && ld % kChunk == 0 && batchStride % kChunk == 0;
}

template <class Cfg, typename E, bool kTransA, bool kTransB, bool kSplit, bool kGuarded>
void launchTc(const GemmArgs<E>& a, const DeviceCaps& caps, cudaStream_t stream) {
  auto kernel = gemmTcKernel<Cfg, E, kTransA, kTransB, kSplit, kGuarded>;
  constexpr int smem = GemmTc<Cfg, E, kTransA, kTransB, kSplit>::kSmemBytes;
  allowDynamicSmem(kernel, smem, caps, "matmul");
  const int64_t tiles = ((a.M + Cfg::BM - 1) / Cfg::BM) * int64_t((a.N + Cfg::BN - 1) / Cfg::BN);
  GLM_REQUIRE(tiles <= 0x7fffffff, "matmul", "too many output tiles (" << tiles << ")");
  dim3 grid(static_cast<unsigned>(tiles), 1, static_cast<unsigned>(std::min(a.batch, 65535)));
  kernel<<<grid, Cfg::kThreads, smem, stream>>>(a);
  checkLaunch("matmul", "gemmTcKernel");
}

template <class Cfg, typename E, bool kSplit, bool kGuarded>
void launchTcTrans(const GemmArgs<E>& a, bool transA, bool transB, const DeviceCaps& caps, cudaStream_t s) {
  if (!transA && !transB) launchTc<Cfg, E, false, false, kSplit, kGuarded>(a, caps, s);
  else if (!transA && transB) launchTc<Cfg, E, false, true, kSplit, kGuarded>(a, caps, s);
  else if (transA && !transB) launchTc<Cfg, E, true, false, kSplit, kGuarded>(a, caps, s);
  else launchTc<Cfg, E, true, true, kSplit, kGuarded>(a, caps, s);
}

template <typename E>
void launchSimple(const GemmArgs<E>& a, bool transA, bool transB, cudaStream_t stream) {
  dim3 block(16, 16);
  dim3 grid((a.N + 15) / 16, std::min((a.M + 15) / 16, 65535), std::min(a.batch, 65535));
  gemmSimpleKernel<E><<<grid, block, 0, stream>>>(a, transA, transB);
  checkLaunch("matmul", "gemmSimpleKernel");
}

template <typename E>
void run(E* C, E* preact, const E* A, const E* B, const E* bias, const GemmParams& p, cudaStream_t stream) {
  constexpr int64_t kMaxDim = 0x7fffffff;
  GLM_REQUIRE(p.M >= 0 && p.N >= 0 && p.K >= 0 && p.batch >= 0, "matmul",
              "sizes must be non-negative, got M=" << p.M << " N=" << p.N << " K=" << p.K << " batch=" << p.batch);
  GLM_REQUIRE(p.M <= kMaxDim && p.N <= kMaxDim && p.K <= kMaxDim && p.batch <= kMaxDim, "matmul",
              "sizes must be below 2^31, got M=" << p.M << " N=" << p.N << " K=" << p.K << " batch=" << p.batch);
  if (p.batch == 0 || p.M == 0 || p.N == 0) return;

  GemmArgs<E> a;
  a.C = C;
  a.preact = preact;
  a.A = A;
  a.B = B;
  a.bias = bias;
  a.M = static_cast<int>(p.M);
  a.N = static_cast<int>(p.N);
  a.K = static_cast<int>(p.K);
  a.batch = static_cast<int>(p.batch);
  a.lda = p.transA ? p.M : p.K;
  a.ldb = p.transB ? p.K : p.N;
  a.ldc = p.N;
  a.strideA = p.strideA;
  a.strideB = p.strideB;
  a.strideC = p.strideC;
  a.stridePre = p.M * p.N;
  a.alpha = p.alpha;
  a.beta = p.beta;
  a.gelu = p.epilogue == Epilogue::Gelu;
  // Contiguous extent of A is K unless stored transposed (then M); of B, N unless transposed (then K).
  a.vecA = vecOperand(A, p.transA ? p.M : p.K, a.lda, p.strideA);
  a.vecB = vecOperand(B, p.transB ? p.K : p.N, a.ldb, p.strideB);
  a.quadC = p.N % 4 == 0 && aligned(C, 4 * sizeof(E)) && p.strideC % 4 == 0 &&
            (!preact || aligned(preact, 4 * sizeof(E)));

  const DeviceCaps caps = currentDeviceCaps("matmul");
  Choice choice = forcedChoice();
  if (!caps.tensorCores()) choice = Choice::Simple;
  if (choice == Choice::Auto) {
    // Below ~2^18 multiply-adds a launch costs more than the arithmetic: the simple kernel is as fast.
    // Otherwise the 128x128 tile (half the shared-memory traffic per flop) when it still gives every
    // SM a block, else the 64x64 tile for more blocks.
    const double macs = double(p.M) * double(p.N) * double(p.K) * double(p.batch);
    const double largeTiles = double((p.M + 127) / 128) * double((p.N + 127) / 128) * double(p.batch);
    choice = macs < double(1 << 18) ? Choice::Simple
             : largeTiles >= caps.multiprocessors ? Choice::Large
                                                  : Choice::Small;
  }
  if (choice == Choice::Simple) {
    launchSimple(a, p.transA, p.transB, stream);
    return;
  }
  // Operands that cannot stream in aligned 16-byte chunks (a row length not a multiple of 8 bf16 /
  // 4 f32, an odd offset) take the guarded kernel: 64x64 tiles, 3xTF32 for f32, correct for any
  // shape and alignment but slower; such shapes are rare (pad the dimension to make them fast).
  if (!a.vecA || !a.vecB) {
    if constexpr (std::is_same_v<E, float>) {
      launchTcTrans<SmallF32, E, true, true>(a, p.transA, p.transB, caps, stream);
    } else {
      launchTcTrans<SmallBf16, E, false, true>(a, p.transA, p.transB, caps, stream);
    }
    return;
  }
  const bool large = choice == Choice::Large;
  if constexpr (std::is_same_v<E, float>) {
    if (splitTf32()) {
      if (large) launchTcTrans<LargeF32, E, true, false>(a, p.transA, p.transB, caps, stream);
      else launchTcTrans<SmallF32, E, true, false>(a, p.transA, p.transB, caps, stream);
    } else {
      if (large) launchTcTrans<LargeF32, E, false, false>(a, p.transA, p.transB, caps, stream);
      else launchTcTrans<SmallF32, E, false, false>(a, p.transA, p.transB, caps, stream);
    }
  } else {
    if (large) launchTcTrans<LargeBf16, E, false, false>(a, p.transA, p.transB, caps, stream);
    else launchTcTrans<SmallBf16, E, false, false>(a, p.transA, p.transB, caps, stream);
  }
}

}  // namespace

// The contract's element types mapped to CUDA's (glm::bf16 is the storage of __nv_bfloat16).
template <typename T> struct DeviceType { using type = T; };
template <> struct DeviceType<bf16> { using type = __nv_bfloat16; };
static_assert(sizeof(bf16) == sizeof(__nv_bfloat16), "glm::bf16 is the storage of __nv_bfloat16");

template <typename T>
void matmul(T* C, T* preact, const T* A, const T* B, const T* bias, const GemmParams& p, void* stream) {
  using E = typename DeviceType<T>::type;
  run<E>(reinterpret_cast<E*>(C), reinterpret_cast<E*>(preact), reinterpret_cast<const E*>(A),
         reinterpret_cast<const E*>(B), reinterpret_cast<const E*>(bias), p, static_cast<cudaStream_t>(stream));
}

template void matmul<float>(float*, float*, const float*, const float*, const float*, const GemmParams&, void*);
template void matmul<bf16>(bf16*, bf16*, const bf16*, const bf16*, const bf16*, const GemmParams&, void*);

}  // namespace glm::cuda
