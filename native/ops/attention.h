// Fused attention op: dispatch of the flash-attention kernels (cpu/attention.h, cuda/attention.h)
// after a native re-check of every shape, dtype, device and option. Outputs first, then inputs.
#pragma once
#include <optional>

#include "../core/tensor.h"

namespace glm {

// Options shared by the forward and the backward; mask is a MaskKind value (0 none, 1 causal,
// 2 prefix), prefix is used by the prefix mask only.
struct AttentionOptions {
  int mask = 1;
  int64_t prefix = 0;
  float scale = 1.0f;
};

// out (B, H, Tq, D), lse (B, H, Tq) f32 <- q (B, H, Tq, D), k, v (B, H, Tk, D), keyLengths (B) i32.
void attentionForwardOp(const TensorRef& out, const TensorRef& lse, const TensorRef& q, const TensorRef& k,
                        const TensorRef& v, const std::optional<TensorRef>& keyLengths, const AttentionOptions& o);

// dq, dk, dv (assigned) <- dout, q, k, v, out, lse of the forward, with the same keyLengths and options.
void attentionBackwardOp(const TensorRef& dq, const TensorRef& dk, const TensorRef& dv, const TensorRef& dout,
                         const TensorRef& q, const TensorRef& k, const TensorRef& v, const TensorRef& out,
                         const TensorRef& lse, const std::optional<TensorRef>& keyLengths, const AttentionOptions& o);

}  // namespace glm
