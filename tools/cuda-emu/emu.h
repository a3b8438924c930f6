// A CPU emulator for the CUDA kernels under native/cuda, so that their index arithmetic, packed
// accesses, ragged ends, grid-stride loops and reductions can be checked on a machine without a GPU.
//
// Every CUDA thread of a block is a fiber (ucontext) on one OS thread; blocks run one after another.
// __syncthreads and the warp shuffles are barriers between fibers; atomics are plain read-modify-
// writes (fibers never interleave inside one). "Device memory" is host memory, so AddressSanitizer
// and UBSan (alignment) catch out-of-bounds and misaligned accesses that would fault on a GPU.
// Launches `k<<<grid, block, smem, stream>>>(args)` are rewritten by translate.py into
// `::emu::run([&] { k(args); }, grid, block, ...)` and run synchronously.
//
// What it cannot show: races between blocks or warps that a GPU would expose (fibers switch only at
// barriers), the memory model, and speed.
#pragma once
#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#endif

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __grid_constant__
#define CUDART_VERSION 13000

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};

inline dim3 gridDim, blockDim;
inline uint3 blockIdx, threadIdx;

// ---- host API ----
using cudaStream_t = void*;
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1 };
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
inline const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t = nullptr) {
  if (n) std::memmove(d, s, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t = nullptr) {
  if (n) std::memset(d, v, n);
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }

// ---- bf16 ----
struct __nv_bfloat16 {
  uint16_t bits;
};
inline float __bfloat162float(__nv_bfloat16 h) {
  uint32_t u = uint32_t(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return __nv_bfloat16{uint16_t((u >> 16) | 0x40)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return __nv_bfloat16{uint16_t(u >> 16)};
}
inline float __int2float_rn(int x) { return float(x); }

namespace emu {

constexpr size_t kStackBytes = 256 * 1024;

struct Fiber {
  ucontext_t ctx;
  char* stack = nullptr;
  bool done = false;
  uint3 tid;
};

struct Block {
  std::vector<Fiber> fibers;
  int current = 0;
  int total = 0, done = 0;
  int barrierCount = 0, barrierGen = 0;
  std::vector<int> warpCount, warpGen;
  std::vector<uint64_t> shfl;  // [warp][lane]
  const std::function<void()>* body = nullptr;
  long long switches = 0;
};

inline ucontext_t schedCtx;
inline Block* blk = nullptr;
inline std::vector<char*> stacks;
#ifdef EMU_ASAN
inline const void* schedBottom = nullptr;  // the scheduler's stack, as ASan reports it to a fiber
inline size_t schedSize = 0;
#endif

inline int linearTid() { return int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }

inline void yield() {
  Fiber& f = blk->fibers[blk->current];
  if (++blk->switches > 400000000LL) {
    std::fprintf(stderr, "emu: no progress (deadlock at a barrier?)\n");
    std::abort();
  }
#ifdef EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, schedBottom, schedSize);
#endif
  swapcontext(&f.ctx, &schedCtx);
#ifdef EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, &schedBottom, &schedSize);
#endif
}

inline void fiberEntry() {
#ifdef EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &schedBottom, &schedSize);
#endif
  (*blk->body)();
  blk->fibers[blk->current].done = true;
  blk->done++;
#ifdef EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, schedBottom, schedSize);
#endif
  // returns to uc_link (the scheduler)
}

inline void releaseBarriersIfDone() {
  Block& b = *blk;
  if (b.barrierCount > 0 && b.barrierCount + b.done >= b.total) {
    b.barrierCount = 0;
    b.barrierGen++;
  }
}

inline void runBlock(const std::function<void()>& body) {
  Block b;
  const int n = int(blockDim.x * blockDim.y * blockDim.z);
  b.total = n;
  b.body = &body;
  b.fibers.resize(n);
  const int warps = (n + 31) / 32;
  b.warpCount.assign(warps, 0);
  b.warpGen.assign(warps, 0);
  b.shfl.assign(size_t(warps) * 32, 0);
  while (int(stacks.size()) < n) stacks.push_back(static_cast<char*>(std::malloc(kStackBytes)));
  blk = &b;
  for (int i = 0; i < n; i++) {
    Fiber& f = b.fibers[i];
    f.tid = uint3{unsigned(i % blockDim.x), unsigned(i / blockDim.x % blockDim.y), unsigned(i / (blockDim.x * blockDim.y))};
    f.stack = stacks[i];
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = kStackBytes;
    f.ctx.uc_link = &schedCtx;
    makecontext(&f.ctx, fiberEntry, 0);
  }
  while (b.done < b.total) {
    for (int i = 0; i < n; i++) {
      if (b.fibers[i].done) continue;
      b.current = i;
      threadIdx = b.fibers[i].tid;
#ifdef EMU_ASAN
      void* fake = nullptr;
      __sanitizer_start_switch_fiber(&fake, b.fibers[i].stack, kStackBytes);
#endif
      swapcontext(&schedCtx, &b.fibers[i].ctx);
#ifdef EMU_ASAN
      __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
      releaseBarriersIfDone();
    }
  }
  blk = nullptr;
}

// Runs a whole grid, block after block.
template <typename F, typename... Rest> void run(F body, dim3 grid, dim3 block, Rest...) {
  const unsigned threads = block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
    std::fprintf(stderr, "emu: invalid launch grid (%u, %u, %u) block (%u, %u, %u)\n", grid.x, grid.y, grid.z, block.x,
                 block.y, block.z);
    std::abort();
  }
  gridDim = grid;
  blockDim = block;
  std::function<void()> fn = body;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        blockIdx = uint3{x, y, z};
        runBlock(fn);
      }
}

inline void syncthreads() {
  Block& b = *blk;
  const int gen = b.barrierGen;
  if (++b.barrierCount + b.done >= b.total) {
    b.barrierCount = 0;
    b.barrierGen++;
    return;
  }
  while (b.barrierGen == gen) yield();
}

inline void warpBarrier() {
  Block& b = *blk;
  const int t = linearTid(), w = t / 32;
  const int lanes = b.total - w * 32 < 32 ? b.total - w * 32 : 32;
  const int gen = b.warpGen[w];
  if (++b.warpCount[w] >= lanes) {
    b.warpCount[w] = 0;
    b.warpGen[w]++;
    return;
  }
  while (b.warpGen[w] == gen) yield();
}

}  // namespace emu

inline void __syncthreads() { emu::syncthreads(); }
inline void __threadfence() {}

template <typename T> T __shfl_xor_sync(unsigned, T v, int offset) {
  static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
  emu::Block& b = *emu::blk;
  const int t = emu::linearTid(), w = t / 32, lane = t % 32;
  if ((lane ^ offset) >= 32 || w * 32 + (lane ^ offset) >= b.total) {
    std::fprintf(stderr, "emu: shuffle from a lane outside the warp\n");
    std::abort();
  }
  std::memcpy(&b.shfl[size_t(w) * 32 + lane], &v, sizeof(T));
  emu::warpBarrier();
  T r;
  std::memcpy(&r, &b.shfl[size_t(w) * 32 + (lane ^ offset)], sizeof(T));
  emu::warpBarrier();
  return r;
}

inline unsigned atomicCAS(unsigned* p, unsigned cmp, unsigned val) {
  const unsigned old = *p;
  if (old == cmp) *p = val;
  return old;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  if (v > old) *p = v;
  return old;
}
