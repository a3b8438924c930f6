// Fused multi-head attention, flash style: softmax(Q·Kᵀ·scale + mask)·V with an online softmax over
// key blocks, never materialising the (Tq, Tk) score matrix; the backward recomputes scores from the
// saved log-sum-exp.
//
// q, out, dq: (B, H, Tq, D); k, v, dk, dv: (B, H, Tk, D); lse: (B, H, Tq) f32 (natural log).
// Query i sits at absolute position i + (Tk - Tq) (so a decode step with a KV cache is Tq = 1).
// Masks: None (every key), Causal (keys at positions <= the query's), Prefix (keys < prefix, plus the
// causal ones: GLM's bidirectional part A followed by causal part B). keyLengths (B) i32, optional:
// keys at positions >= keyLengths[b] are masked (padding). A query that sees no key gets out = 0 and
// lse = -inf, and contributes no gradient.
// Gradient convention: dq, dk, dv are assigned (=).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm {

enum class MaskKind : int { None = 0, Causal = 1, Prefix = 2 };

struct AttentionParams {
  int64_t B = 0, H = 0, Tq = 0, Tk = 0, D = 0;
  float scale = 1.0f;
  MaskKind mask = MaskKind::Causal;
  int64_t prefix = 0;  // for MaskKind::Prefix
};

namespace cpu {

template <typename T>
void attentionForward(T* out, float* lse, const T* q, const T* k, const T* v, const int32_t* keyLengths,
                      const AttentionParams& p);

template <typename T>
void attentionBackward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* out,
                       const float* lse, const int32_t* keyLengths, const AttentionParams& p);

}  // namespace cpu
}  // namespace glm
