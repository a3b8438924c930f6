// Warp-level tensor-core primitives shared by the GEMM and flash-attention kernels (cp.async,
// ldmatrix, mma.sync for bf16 and tf32, bf16 packing), plus the host helpers their launchers use
// (device capabilities, launch checks). Every PTX fragment layout used in this project is written
// down here once; the kernels refer to these comments.
//
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (PTX ISA "Matrix Fragments for mma.m16n8k16"):
//   lane = 4*g + t  (g = groupID = lane >> 2 in 0..7, t = threadID_in_group = lane & 3)
//   A (16x16, row):  a[0] = A[g   ][2t..2t+1]   a[1] = A[g+8][2t..2t+1]
//                    a[2] = A[g   ][2t+8..+9]   a[3] = A[g+8][2t+8..+9]   (low half = lower column)
//   B (16x8, col):   b[0] = B[2t..2t+1][g]      b[1] = B[2t+8..2t+9][g]    (low half = lower row)
//   C/D (16x8 f32):  c[0..1] = C[g][2t..2t+1]   c[2..3] = C[g+8][2t..2t+1]
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32:
//   A (16x8):  a[0] = A[g][t]  a[1] = A[g+8][t]  a[2] = A[g][t+4]  a[3] = A[g+8][t+4]
//   B (8x8):   b[0] = B[t][g]  b[1] = B[t+4][g]
//   C/D:       as for m16n8k16.
// ldmatrix.sync.aligned.m8n8.x4(.trans).shared.b16: lanes 8i..8i+7 give the addresses of the 8 rows
//   (16 bytes each) of matrix i; register i of every lane receives from matrix i:
//   without .trans  M_i[lane >> 2][2*(lane & 3) .. +1]
//   with .trans     M_i[2*(lane & 3)][lane >> 2] (low half), M_i[2*(lane & 3) + 1][lane >> 2] (high half)
//   where M_i[r][c] is element c of the row whose address lane 8i + r gave.
// The C fragment of two adjacent n8 tiles of a 16x16 product is exactly the A fragment of a 16x16
// operand (c of tile 2j -> a[0], a[1]; c of tile 2j+1 -> a[2], a[3]), which is how P = softmax(S)
// feeds P·V without leaving registers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "../core/error.h"

// The tensor-core kernels need sm_80 (bf16 mma.sync, cp.async). Builds that also target older GPUs
// (sm_75 in release prebuilds) compile their bodies to a trap; the launchers never pick them there.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define GLM_TC_ARCH 1
#else
#define GLM_TC_ARCH 0
#endif

namespace glm::cuda::mma {

// ---------------------------------------------------------------------------------------------
// Device primitives
// ---------------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t smemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy that bypasses L1; when !valid nothing is read and the 16 bytes are
// zero-filled (src-size 0), so edge tiles need no separate clearing pass.
__device__ __forceinline__ void cpAsync16(uint32_t dst, const void* src, bool valid) {
#if GLM_TC_ARCH
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
#endif
}
__device__ __forceinline__ void cpAsyncCommit() {
#if GLM_TC_ARCH
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cpAsyncWait() {
#if GLM_TC_ARCH
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], uint32_t addr) {
#if GLM_TC_ARCH
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
#endif
}
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], uint32_t addr) {
#if GLM_TC_ARCH
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
#endif
}

// d += a·b on a 16x8x16 bf16 tile, f32 accumulation (layouts above).
__device__ __forceinline__ void mmaBf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if GLM_TC_ARCH
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// d += a·b on a 16x8x8 tf32 tile, f32 accumulation (layouts above).
__device__ __forceinline__ void mmaTf32(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if GLM_TC_ARCH
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// Rounds an f32 to tf32 (round to nearest, ties away), returned as the 32-bit pattern mma reads.
__device__ __forceinline__ uint32_t toTf32(float x) {
  uint32_t r;
#if GLM_TC_ARCH
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#else
  r = __float_as_uint(x);
#endif
  return r;
}

// Splits x into big + small, both tf32, with x - (big + small) ~ 2^-22 |x|: the "3xTF32" scheme
// (big·big + big·small + small·big) gives close to f32 accuracy on the TF32 tensor cores.
__device__ __forceinline__ void splitTf32(float x, uint32_t& big, uint32_t& small) {
  big = toTf32(x);
  small = toTf32(x - __uint_as_float(big));
}

// Two f32 -> one register of two bf16 (lo in the low half), round to nearest even.
__device__ __forceinline__ uint32_t packBf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ float warpMax4(float v) {  // max over the 4 lanes of a quad (same g)
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float warpSum4(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}
__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Element loads/stores in f32 for the element types of the contracts (float, __nv_bfloat16).
__device__ __forceinline__ float toF(float v) { return v; }
__device__ __forceinline__ float toF(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename E> __device__ __forceinline__ E fromF(float v);
template <> __device__ __forceinline__ float fromF<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 fromF<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// The bf16 tile layout in shared memory used by every ldmatrix consumer: rows of `chunks` 16-byte
// chunks (8 bf16 each); chunk c of row r is stored at chunk position swizzle(r, c). ldmatrix reads
// 8 consecutive rows (starting at a multiple of 8) at one logical chunk; the swizzle spreads those
// 8 reads over the 8 distinct 16-byte bank groups of a 128-byte line, so they are conflict-free:
//   chunks >= 8 (row >= 128 B): c ^ (r & 7)          (rows r..r+7 -> 8 different low-3-bit values)
//   chunks == 4 (row == 64 B):  c ^ ((r >> 1) & 3)   (two rows share a 128-B line: r & 1 picks the
//                                                     half, (r >> 1) & 3 the chunk within it)
// The XOR only touches the low 3 (resp. 2) bits, so a chunk never leaves its row.
template <int kChunks>
__device__ __forceinline__ int swizzleChunk(int r, int c) {
  static_assert(kChunks == 4 || kChunks % 8 == 0, "bf16 tile rows must be 64 B or a multiple of 128 B");
  if constexpr (kChunks == 4) {
    return c ^ ((r >> 1) & 3);
  } else {
    return c ^ (r & 7);
  }
}
// Element offset of (row r, element e) in such a tile: e must be a multiple of 8 (a chunk start).
template <int kChunks>
__device__ __forceinline__ int swizzledOffset(int r, int e) {
  return r * kChunks * 8 + swizzleChunk<kChunks>(r, e >> 3) * 8;
}

}  // namespace glm::cuda::mma

// ---------------------------------------------------------------------------------------------
// Host helpers (own namespace: native/cuda/runtime.cu may define similarly named functions)
// ---------------------------------------------------------------------------------------------
namespace glm::cuda::kernel_util {

// Throws "op: what: <CUDA error>" unless e is cudaSuccess.
inline void checkCuda(cudaError_t e, const char* op, const char* what) {
  if (e != cudaSuccess) {
    throw GlmError(std::string(op) + ": " + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  }
}

// Checks the launch that was just made (bad configuration, missing kernel image, ...).
inline void checkLaunch(const char* op, const char* kernel) {
  checkCuda(cudaGetLastError(), op, kernel);
}

struct DeviceCaps {
  int device = 0;
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 1;
  int maxSmemOptin = 48 * 1024;  // largest dynamic shared memory a block may ask for
  bool tensorCores() const { return major >= 8; }
};

// The current device's capabilities (the launchers run with the stream's device current), read once.
inline DeviceCaps currentDeviceCaps(const char* op) {
  constexpr int kMaxDevices = 64;
  static DeviceCaps caps[kMaxDevices];
  static std::atomic<bool> known[kMaxDevices];
  int dev = 0;
  checkCuda(cudaGetDevice(&dev), op, "cudaGetDevice");
  if (dev < 0 || dev >= kMaxDevices) GLM_FAIL(op, "CUDA device index " << dev << " out of range");
  if (!known[dev].load(std::memory_order_acquire)) {
    DeviceCaps c;
    c.device = dev;
    checkCuda(cudaDeviceGetAttribute(&c.major, cudaDevAttrComputeCapabilityMajor, dev), op, "device attributes");
    checkCuda(cudaDeviceGetAttribute(&c.minor, cudaDevAttrComputeCapabilityMinor, dev), op, "device attributes");
    checkCuda(cudaDeviceGetAttribute(&c.multiprocessors, cudaDevAttrMultiProcessorCount, dev), op,
              "device attributes");
    checkCuda(cudaDeviceGetAttribute(&c.maxSmemOptin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), op,
              "device attributes");
    caps[dev] = c;  // a benign race: every writer stores the same values
    known[dev].store(true, std::memory_order_release);
  }
  return caps[dev];
}

// Raises a kernel's dynamic shared-memory limit when it needs more than the default 48 KB. The
// attribute is per device, so it is set on every call (a cheap host-side call, no synchronisation).
template <typename Kernel>
inline void allowDynamicSmem(Kernel kernel, int bytes, const DeviceCaps& caps, const char* op) {
  if (bytes > caps.maxSmemOptin) {
    GLM_FAIL(op, "kernel needs " << bytes << " bytes of shared memory, the device allows " << caps.maxSmemOptin);
  }
  if (bytes > 48 * 1024) {
    checkCuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), op,
              "cudaFuncSetAttribute");
  }
}

}  // namespace glm::cuda::kernel_util
