// CUDA attention launchers (contract: native/cuda/attention.h). bf16 with head dimension <= 128 on
// sm_80+ runs the tensor-core flash kernels (flash_fwd.cuh, flash_bwd.cuh) with the head dimension
// padded to 32, 64 or 128; everything else (f32, larger heads, older GPUs) the simple kernels
// (attention_simple.cuh). GLM_CUDA_ATTENTION=simple forces the simple kernels (tests, comparisons).
#include <cstdlib>
#include <cstring>

#include "attention.h"
#include "attention_simple.cuh"
#include "flash_bwd.cuh"
#include "flash_fwd.cuh"

namespace glm::cuda {
namespace {

using namespace kernel_util;

using namespace attn;
using NB = __nv_bfloat16;

constexpr const char* kFwdOp = "attentionForward";
constexpr const char* kBwdOp = "attentionBackward";

// Flash tile shapes: 4 warps (64 query rows / 64 keys per block) for every head size. The dK/dV
// kernel holds dK and dV (2 x 16 x kD f32 per warp) in registers, so its query stage shrinks to 32
// rows at kD = 128 to leave room for the Sᵀ and dPᵀ fragments.
constexpr int kFlashWarps = 4;
template <int kD> constexpr int dkdvQueryTile() { return kD >= 128 ? 32 : 64; }

bool forceSimple() {
  static const bool simple = [] {
    const char* s = std::getenv("GLM_CUDA_ATTENTION");
    return s && !std::strcmp(s, "simple");
  }();
  return simple;
}

bool aligned16(const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Scratch memory for the duration of one op, in stream order: cudaMallocAsync / cudaFreeAsync (the
// pool may hand the block to later work on the same stream only after the kernels queued before the
// free). Devices without memory pools fall back to cudaMalloc / cudaFree (which synchronises).
struct StreamScratch {
  void* ptr = nullptr;
  cudaStream_t stream;
  bool pooled = true;
  StreamScratch(size_t bytes, cudaStream_t s, const char* op) : stream(s) {
    if (bytes == 0) return;
    cudaError_t e = cudaMallocAsync(&ptr, bytes, stream);
    if (e == cudaErrorNotSupported) {
      (void)cudaGetLastError();
      pooled = false;
      e = cudaMalloc(&ptr, bytes);
    }
    checkCuda(e, op, "allocating scratch memory");
  }
  ~StreamScratch() {
    if (!ptr) return;
    if (pooled) {
      cudaFreeAsync(ptr, stream);
    } else {
      cudaFree(ptr);
    }
  }
  StreamScratch(const StreamScratch&) = delete;
  StreamScratch& operator=(const StreamScratch&) = delete;
};

template <typename E>
AttnArgs<E> makeArgs(const AttentionParams& p, const int32_t* keyLengths, const char* op) {
  constexpr int64_t kMax = 0x7fffffff;
  GLM_REQUIRE(p.B >= 0 && p.H >= 0 && p.Tq >= 0 && p.Tk >= 0 && p.D >= 0, op,
              "sizes must be non-negative, got B=" << p.B << " H=" << p.H << " Tq=" << p.Tq << " Tk=" << p.Tk
                                                    << " D=" << p.D);
  GLM_REQUIRE(p.Tq <= kMax && p.Tk <= kMax && p.D <= kMax, op, "sequence lengths and D must be below 2^31");
  GLM_REQUIRE(p.B <= 65535 && p.H <= 65535, op,
              "B and H must be at most 65535 (CUDA grid limit), got B=" << p.B << " H=" << p.H);
  GLM_REQUIRE(p.mask == MaskKind::None || p.mask == MaskKind::Causal || p.mask == MaskKind::Prefix, op,
              "unknown mask kind " << static_cast<int>(p.mask));
  AttnArgs<E> a{};
  a.keyLengths = keyLengths;
  a.H = static_cast<int>(p.H);
  a.Tq = static_cast<int>(p.Tq);
  a.Tk = static_cast<int>(p.Tk);
  a.D = static_cast<int>(p.D);
  a.scale = p.scale;
  a.scaleLog2 = p.scale * kLog2e;
  a.mask = static_cast<int>(p.mask);
  a.prefix = static_cast<int>(std::min<int64_t>(std::max<int64_t>(p.prefix, 0), p.Tk));
  return a;
}

// Flash path available: bf16, tensor cores, 1 <= D <= 128, grid dimensions in range.
template <typename E>
bool useFlash(const AttentionParams& p, const DeviceCaps& caps) {
  return std::is_same_v<E, NB> && !forceSimple() && caps.tensorCores() && p.D >= 1 && p.D <= 128;
}

int paddedHeadDim(int64_t D) { return D <= 32 ? 32 : D <= 64 ? 64 : 128; }

dim3 simpleGrid(int64_t rows, const AttentionParams& p) {
  return dim3(static_cast<unsigned>((rows + kSimpleWarps - 1) / kSimpleWarps), static_cast<unsigned>(p.H),
              static_cast<unsigned>(p.B));
}

template <int kD>
void launchFlashForward(const AttnArgs<NB>& a, const AttentionParams& p, const DeviceCaps& caps, cudaStream_t s) {
  using S = FwdShape<kD, kFlashWarps>;
  auto kernel = flashForwardKernel<kD, kFlashWarps>;
  allowDynamicSmem(kernel, S::kSmemBytes, caps, kFwdOp);
  dim3 grid(static_cast<unsigned>((p.Tq + S::BQ - 1) / S::BQ), static_cast<unsigned>(p.H), static_cast<unsigned>(p.B));
  kernel<<<grid, S::kThreads, S::kSmemBytes, s>>>(a);
  checkLaunch(kFwdOp, "flashForwardKernel");
}

template <int kD>
void launchFlashBackward(const AttnArgs<NB>& a, const AttentionParams& p, const DeviceCaps& caps, cudaStream_t s) {
  if (p.Tk > 0) {
    using S = BwdDkDvShape<kD, kFlashWarps, dkdvQueryTile<kD>()>;
    auto kernel = flashBwdDkDvKernel<kD, kFlashWarps, dkdvQueryTile<kD>()>;
    allowDynamicSmem(kernel, S::kSmemBytes, caps, kBwdOp);
    dim3 grid(static_cast<unsigned>((p.Tk + S::BKV - 1) / S::BKV), static_cast<unsigned>(p.H),
              static_cast<unsigned>(p.B));
    kernel<<<grid, S::kThreads, S::kSmemBytes, s>>>(a);
    checkLaunch(kBwdOp, "flashBwdDkDvKernel");
  }
  if (p.Tq > 0) {
    using S = BwdDqShape<kD, kFlashWarps>;
    auto kernel = flashBwdDqKernel<kD, kFlashWarps>;
    allowDynamicSmem(kernel, S::kSmemBytes, caps, kBwdOp);
    dim3 grid(static_cast<unsigned>((p.Tq + S::BQ - 1) / S::BQ), static_cast<unsigned>(p.H),
              static_cast<unsigned>(p.B));
    kernel<<<grid, S::kThreads, S::kSmemBytes, s>>>(a);
    checkLaunch(kBwdOp, "flashBwdDqKernel");
  }
}

template <typename E>
void forward(E* out, float* lse, const E* q, const E* k, const E* v, const int32_t* keyLengths,
             const AttentionParams& p, cudaStream_t stream) {
  AttnArgs<E> a = makeArgs<E>(p, keyLengths, kFwdOp);
  if (p.B == 0 || p.H == 0 || p.Tq == 0) return;  // nothing to write
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  a.lseOut = lse;
  const DeviceCaps caps = currentDeviceCaps(kFwdOp);
  if constexpr (std::is_same_v<E, NB>) {
    if (useFlash<E>(p, caps)) {
      a.vec = p.D % 8 == 0 && aligned16(q) && aligned16(k) && aligned16(v) && aligned16(out);
      switch (paddedHeadDim(p.D)) {
        case 32: launchFlashForward<32>(a, p, caps, stream); break;
        case 64: launchFlashForward<64>(a, p, caps, stream); break;
        default: launchFlashForward<128>(a, p, caps, stream); break;
      }
      return;
    }
  }
  attnForwardSimpleKernel<E><<<simpleGrid(p.Tq, p), 32 * kSimpleWarps, 0, stream>>>(a);
  checkLaunch(kFwdOp, "attnForwardSimpleKernel");
}

template <typename E>
void backward(E* dq, E* dk, E* dv, const E* dout, const E* q, const E* k, const E* v, const E* out, const float* lse,
              const int32_t* keyLengths, const AttentionParams& p, cudaStream_t stream) {
  AttnArgs<E> a = makeArgs<E>(p, keyLengths, kBwdOp);
  if (p.B == 0 || p.H == 0 || (p.Tq == 0 && p.Tk == 0)) return;
  a.q = q;
  a.k = k;
  a.v = v;
  a.o = out;
  a.dO = dout;
  a.lse = lse;
  a.dq = dq;
  a.dk = dk;
  a.dv = dv;
  const DeviceCaps caps = currentDeviceCaps(kBwdOp);

  // delta = rowsum(dO ∘ O): f32 scratch, allocated and freed in stream order.
  const size_t deltaBytes = static_cast<size_t>(p.B) * p.H * p.Tq * sizeof(float);
  StreamScratch scratch(deltaBytes, stream, kBwdOp);
  if (deltaBytes > 0) {
    a.delta = static_cast<float*>(scratch.ptr);
    attnDeltaKernel<E><<<simpleGrid(p.Tq, p), 32 * kSimpleWarps, 0, stream>>>(a);
    checkLaunch(kBwdOp, "attnDeltaKernel");
  }

  if constexpr (std::is_same_v<E, NB>) {
    if (useFlash<E>(p, caps)) {
      a.vec = p.D % 8 == 0 && aligned16(q) && aligned16(k) && aligned16(v) && aligned16(dout) && aligned16(dq) &&
              aligned16(dk) && aligned16(dv);
      switch (paddedHeadDim(p.D)) {
        case 32: launchFlashBackward<32>(a, p, caps, stream); break;
        case 64: launchFlashBackward<64>(a, p, caps, stream); break;
        default: launchFlashBackward<128>(a, p, caps, stream); break;
      }
      return;
    }
  }
  if (p.Tk > 0) {
    attnBwdDkDvSimpleKernel<E><<<simpleGrid(p.Tk, p), 32 * kSimpleWarps, 0, stream>>>(a);
    checkLaunch(kBwdOp, "attnBwdDkDvSimpleKernel");
  }
  if (p.Tq > 0) {
    attnBwdDqSimpleKernel<E><<<simpleGrid(p.Tq, p), 32 * kSimpleWarps, 0, stream>>>(a);
    checkLaunch(kBwdOp, "attnBwdDqSimpleKernel");
  }
}

template <typename T> struct DeviceType { using type = T; };
template <> struct DeviceType<bf16> { using type = __nv_bfloat16; };
static_assert(sizeof(bf16) == sizeof(__nv_bfloat16), "glm::bf16 is the storage of __nv_bfloat16");

}  // namespace

template <typename T>
void attentionForward(T* out, float* lse, const T* q, const T* k, const T* v, const int32_t* keyLengths,
                      const AttentionParams& p, void* stream) {
  using E = typename DeviceType<T>::type;
  forward<E>(reinterpret_cast<E*>(out), lse, reinterpret_cast<const E*>(q), reinterpret_cast<const E*>(k),
             reinterpret_cast<const E*>(v), keyLengths, p, static_cast<cudaStream_t>(stream));
}

template <typename T>
void attentionBackward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* out,
                       const float* lse, const int32_t* keyLengths, const AttentionParams& p, void* stream) {
  using E = typename DeviceType<T>::type;
  backward<E>(reinterpret_cast<E*>(dq), reinterpret_cast<E*>(dk), reinterpret_cast<E*>(dv),
              reinterpret_cast<const E*>(dout), reinterpret_cast<const E*>(q), reinterpret_cast<const E*>(k),
              reinterpret_cast<const E*>(v), reinterpret_cast<const E*>(out), lse, keyLengths, p,
              static_cast<cudaStream_t>(stream));
}

template void attentionForward<float>(float*, float*, const float*, const float*, const float*, const int32_t*,
                                      const AttentionParams&, void*);
template void attentionForward<bf16>(bf16*, float*, const bf16*, const bf16*, const bf16*, const int32_t*,
                                     const AttentionParams&, void*);
template void attentionBackward<float>(float*, float*, float*, const float*, const float*, const float*,
                                       const float*, const float*, const float*, const int32_t*,
                                       const AttentionParams&, void*);
template void attentionBackward<bf16>(bf16*, bf16*, bf16*, const bf16*, const bf16*, const bf16*, const bf16*,
                                      const bf16*, const float*, const int32_t*, const AttentionParams&, void*);

}  // namespace glm::cuda
