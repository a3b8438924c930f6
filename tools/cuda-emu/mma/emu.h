// CPU emulator for the glm-native GEMM and attention CUDA kernels (tools/cuda-emu/mma; a test harness,
// never built into the addon). Each CUDA thread runs as a ucontext fiber; warp collectives (shfl,
// ldmatrix, mma) and __syncthreads block the fiber until every participant arrives; the collective's
// result is then computed from the PTX ISA definitions, written independently of the kernels' own
// reasoning. cp.async copies are deferred to the wait that completes them (or done at issue,
// EMU_EARLY_COPY=1); EMU_SEED=n runs random subsets of warps in random order so warps drift apart;
// shared memory is NaN-poisoned (0xFF) before every block; EMU_CC_MAJOR sets the emulated compute
// capability (default 9).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#define __launch_bounds__(...)

using std::max;
using std::min;

namespace glm_emu {

enum class Kind { None, ShflXor, ShflIdx, Ldm, LdmT, MmaBf16, MmaTf32 };

struct LaneIn {
  uint32_t v = 0;   // shfl value / ldmatrix address
  int arg = 0;      // shfl lane / mask
  uint32_t a[4], b[2];
  float c[4];
};
struct LaneOut {
  uint32_t r[4];
  float d[4];
  bool ready = false;
};

struct CopyOp {
  uint32_t dst;
  const void* src;
  bool valid;
};

struct Fiber;
struct BlockState;

struct Fiber {
  dim3 tid;
  int linear = 0;
  bool done = false;
  void* ctx = nullptr;     // ucontext_t*
  char* stack = nullptr;
  LaneOut out;
  std::vector<CopyOp> pendingGroup;
  std::vector<std::vector<CopyOp>> groups;
  unsigned barrierGen = 0;
};

// Globals describing what is running.
struct Runtime {
  dim3 bIdx, gDim, bDim;
  unsigned char* smem = nullptr;
  size_t smemBytes = 0;
  Fiber* current = nullptr;
  BlockState* block = nullptr;
  // statistics
  long ldmCalls = 0, ldmConflictPhases = 0;
  long mmaCalls = 0;
  bool earlyCopy = false;
};
Runtime& rt();

inline Fiber& cur() { return *rt().current; }

void yieldFiber();
void syncthreads();
LaneOut warpCollective(Kind kind, const LaneIn& in);

// cp.async
void cpAsync(uint32_t dst, const void* src, bool valid);
void cpCommit();
void cpWait(int n);

void fail(const char* fmt, ...);
void registerRange(const void* p, size_t bytes);
void unregisterRange(const void* p);

// Runs kernel(args...) over the grid.
void runGrid(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body);

template <typename... P>
struct Launcher {
  void (*k)(P...);
  dim3 grid, block;
  size_t smem;
  template <typename... A>
  void operator()(A&&... args) {
    std::tuple<P...> t(args...);
    runGrid(grid, block, smem, [&]() { std::apply(k, t); });
  }
};
template <typename... P>
Launcher<P...> launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem) {
  return Launcher<P...>{k, grid, block, smem};
}
inline Launcher<> launchHelperDummy();

}  // namespace glm_emu

#include <tuple>

// CUDA built-in variables and intrinsics, host side.
#define threadIdx (::glm_emu::cur().tid)
#define blockIdx (::glm_emu::rt().bIdx)
#define gridDim (::glm_emu::rt().gDim)
#define blockDim (::glm_emu::rt().bDim)

inline void __syncthreads() { glm_emu::syncthreads(); }
inline float __shfl_xor_sync(unsigned mask, float v, int laneMask) {
  if (mask != 0xffffffffu) glm_emu::fail("partial shfl mask");
  glm_emu::LaneIn in;
  std::memcpy(&in.v, &v, 4);
  in.arg = laneMask;
  glm_emu::LaneOut o = glm_emu::warpCollective(glm_emu::Kind::ShflXor, in);
  float r;
  std::memcpy(&r, &o.r[0], 4);
  return r;
}
inline float __shfl_sync(unsigned mask, float v, int lane) {
  if (mask != 0xffffffffu) glm_emu::fail("partial shfl mask");
  glm_emu::LaneIn in;
  std::memcpy(&in.v, &v, 4);
  in.arg = lane;
  glm_emu::LaneOut o = glm_emu::warpCollective(glm_emu::Kind::ShflIdx, in);
  float r;
  std::memcpy(&r, &o.r[0], 4);
  return r;
}
inline float __uint_as_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t __float_as_uint(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
template <class T>
inline cudaError_t cudaFuncSetAttribute(T* f, cudaFuncAttribute a, int v) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(f), a, v);
}
inline void __trap() { glm_emu::fail("__trap"); }
