// CUDA dropout; the contract and the random bits of native/cpu/dropout.h. One thread per Philox
// block, i.e. per four consecutive counters: it draws the four words once and applies them to its
// (up to) four elements, with one 16-byte (f32) or 8-byte (bf16) access when they are aligned. In
// place is safe: each thread reads its elements before it writes them, and no other thread touches
// them.
#include "common.cuh"
#include "dropout.h"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T> __device__ __forceinline__ bool alignedPack4(const T* p) {
  return (reinterpret_cast<uintptr_t>(p) & (sizeof(T) * 4 - 1)) == 0;
}

template <typename T>
__global__ void dropoutKernel(T* out, const T* inp, int64_t n, uint64_t seed, uint64_t offset, uint64_t blocks,
                              uint32_t threshold, float scale) {
  const uint64_t first = offset >> 2;
  GLM_GRID_STRIDE(k, int64_t(blocks)) {
    const uint64_t block = first + uint64_t(k);
    const Philox4 r = dropoutBlock(seed, block);
    const int64_t j0 = int64_t(block * 4 - offset);  // the element of word 0 (negative in the first block)
    const bool whole = j0 >= 0 && j0 + 4 <= n;
    if (whole && alignedPack4(out + j0) && alignedPack4(inp + j0)) {
      Pack<T, 4> p = loadPack<4>(inp + j0);
#pragma unroll
      for (int w = 0; w < 4; w++) p.v[w] = fromF<T>(r.v[w] >= threshold ? toF(p.v[w]) * scale : 0.0f);
      storePack<4>(out + j0, p);
    } else {
#pragma unroll
      for (int w = 0; w < 4; w++) {
        const int64_t j = j0 + w;
        if (j >= 0 && j < n) out[j] = fromF<T>(r.v[w] >= threshold ? toF(inp[j]) * scale : 0.0f);
      }
    }
  }
}

}  // namespace

template <typename T>
void dropoutForward(T* out, const T* inp, int64_t n, uint64_t seed, uint64_t offset, DropoutParams params, void* stream) {
  if (n <= 0) return;
  const uint64_t blocks = ((offset + uint64_t(n) - 1) >> 2) - (offset >> 2) + 1;
  dropoutKernel<<<gridFor(int64_t(blocks), kThreads), kThreads, 0, asStream(stream)>>>(
      dev(out), dev(inp), n, seed, offset, blocks, params.threshold, params.scale);
}

template void dropoutForward<float>(float*, const float*, int64_t, uint64_t, uint64_t, DropoutParams, void*);
template void dropoutForward<bf16>(bf16*, const bf16*, int64_t, uint64_t, uint64_t, DropoutParams, void*);

}  // namespace glm::cuda
