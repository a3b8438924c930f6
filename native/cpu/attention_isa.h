// Internal interface between the CPU attention driver (attention.cpp: validation, scheduling, the
// dQ reduction) and its per-ISA task bodies (attention_{avx512,avx2,scalar}.cpp, which compile
// attention_kernel.inc with their own vector type and target attribute).
#pragma once
#include <algorithm>
#include <cstdint>

#include "attention.h"

namespace glm::cpu::attn {

// Query and key block sizes: a (64 x 64) f32 score tile is 16 KiB, so a tile, its probabilities
// and the packed operands of one block stay in L1/L2 while the block's products run.
constexpr int64_t kBlockQ = 64;
constexpr int64_t kBlockK = 64;

// Every mask in the contract lets query i see exactly the keys [0, visibleKeys(i)), a prefix
// that never shrinks as i grows. The kernels rely on both facts to skip blocks and tiles.
inline int64_t visibleKeys(const AttentionParams& p, int64_t keyLen, int64_t i) {
  const int64_t pos = i + (p.Tk - p.Tq);  // the query's absolute position
  int64_t lim = p.Tk;
  if (p.mask == MaskKind::Causal) lim = pos + 1;
  else if (p.mask == MaskKind::Prefix) lim = std::max(pos + 1, p.prefix);
  return std::min(std::min(lim, p.Tk), keyLen);
}

// The first query in [0, Tq) that sees key j (Tq when none does).
inline int64_t firstQuerySeeing(const AttentionParams& p, int64_t keyLen, int64_t j) {
  int64_t lo = 0, hi = p.Tq;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (visibleKeys(p, keyLen, mid) > j) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// Forward for one head, queries [i0, i1): out (Tq, D) and lse (Tq) of that head are written on
// those rows. Pointers are already offset to the head.
template <typename T>
using ForwardRowsFn = void (*)(T* out, float* lse, const T* q, const T* k, const T* v, int64_t keyLen,
                               const AttentionParams& p, int64_t i0, int64_t i1);

// Backward for one head, keys [j0, j1): assigns dk, dv on those rows, and this key range's share
// of dq over all Tq rows: into dq (converted) when dqPartial is null, else into dqPartial
// (Tq, D) f32. Both already include the softmax scale.
template <typename T>
using BackwardKeysFn = void (*)(T* dq, float* dqPartial, T* dk, T* dv, const T* dout, const T* q, const T* k,
                                const T* v, const T* out, const float* lse, int64_t keyLen,
                                const AttentionParams& p, int64_t j0, int64_t j1);

#define GLM_ATTN_DECLARE_ISA(ns)                                                                             \
  namespace ns {                                                                                             \
  template <typename T>                                                                                      \
  void forwardRows(T* out, float* lse, const T* q, const T* k, const T* v, int64_t keyLen,                   \
                   const AttentionParams& p, int64_t i0, int64_t i1);                                        \
  template <typename T>                                                                                      \
  void backwardKeys(T* dq, float* dqPartial, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, \
                    const T* out, const float* lse, int64_t keyLen, const AttentionParams& p, int64_t j0,     \
                    int64_t j1);                                                                             \
  }
GLM_ATTN_DECLARE_ISA(scalar)
GLM_ATTN_DECLARE_ISA(avx2)
GLM_ATTN_DECLARE_ISA(avx512)
#undef GLM_ATTN_DECLARE_ISA

}  // namespace glm::cpu::attn
