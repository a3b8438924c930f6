// LayerNorm ops: validate, then run the CPU or CUDA kernels of layernorm.h.
#pragma once
#include <optional>

#include "../core/tensor.h"

namespace glm {

// inp, out (..., C) f32/bf16; weight, bias (C) of inp's dtype (bias optional); mean, rstd f32 with
// N = numel / C elements (saved for the backward), both or neither (inference: nothing saved). eps
// finite and > 0.
void layernormForwardOp(const TensorRef& out, const std::optional<TensorRef>& mean, const std::optional<TensorRef>& rstd,
                        const TensorRef& inp,
                        const TensorRef& weight, const std::optional<TensorRef>& bias, double eps);

// dinp (..., C), dweight (C), dbias (C, optional): all assigned. dout, inp (..., C); weight (C);
// mean, rstd as saved by the forward.
void layernormBackwardOp(const TensorRef& dinp, const TensorRef& dweight, const std::optional<TensorRef>& dbias,
                         const TensorRef& dout, const TensorRef& inp, const TensorRef& weight, const TensorRef& mean,
                         const TensorRef& rstd);

}  // namespace glm
